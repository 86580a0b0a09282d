/** The shapes of Herald's ids and names; anything else names nothing and is a 404 without a catalog read. */
export const TOPIC_NAME = /^[A-Za-z0-9_-]{1,256}$/;
export const KEY_ID = /^key_[0-9A-Z]{26}$/;
export const SUB_ID = /^sub_[0-9A-Z]{26}$/;
export const MSG_ID = /^msg_[0-9A-Z]{26}$/;
export const DLV_ID = /^dlv_[0-9A-Z]{52}$/;
export const DLQ_ID = /^dlq_[0-9A-Z]{26}$/;
