import { describe, expect, it } from 'vitest';
import { signedForm } from '../../../../test/support/twilio-server';
import {
  parseInboundSms,
  parseStatusCallback,
  smsKeyword,
  twimlMessage,
  verifyTwilioSignature,
} from './twilio-callbacks';

const token = 'test-auth-token-0123456789abcdef';
const url = 'https://herald.example.com/v1/providers/twilio/status';
const params = {
  MessageSid: 'SM0123456789abcdef0123456789abcdef',
  MessageStatus: 'delivered',
  To: '+14155550100',
  AccountSid: 'AC0123456789abcdef0123456789abcdef',
};

describe('verifyTwilioSignature', () => {
  const signature = signedForm(url, params, token).headers['x-twilio-signature'];

  it('accepts a callback signed with the auth token for this URL and these parameters', () => {
    expect(verifyTwilioSignature(token, signature, url, params)).toBe(true);
  });

  it('accepts the URL with the default port spelled out, as Twilio may have signed it', () => {
    expect(
      verifyTwilioSignature(
        token,
        signature,
        'https://herald.example.com:443/v1/providers/twilio/status',
        params,
      ),
    ).toBe(true);
  });

  it.each([
    ['a missing signature', undefined, url, params, token],
    ['an empty signature', '', url, params, token],
    ['a garbage signature', 'not-a-signature', url, params, token],
    ['another auth token', signature, url, params, 'another-token'],
    ['a tampered parameter', signature, url, { ...params, MessageStatus: 'failed' }, token],
    ['an added parameter', signature, url, { ...params, ErrorCode: '30003' }, token],
    ['another URL', signature, 'https://herald.example.com/v1/providers/twilio/inbound', params, token],
    ['an unparsable URL', signature, 'not a url', params, token],
    ['an empty auth token', signature, url, params, ''],
  ])('rejects %s', (_name, sig, u, p, t) => {
    expect(verifyTwilioSignature(t, sig, u, p)).toBe(false);
  });
});

describe('parseStatusCallback', () => {
  it('reads the message sid, status, error code and recipient', () => {
    expect(parseStatusCallback({ ...params, MessageStatus: 'undelivered', ErrorCode: '30003' })).toEqual({
      providerMessageId: params.MessageSid,
      status: 'undelivered',
      errorCode: '30003',
      to: '+14155550100',
    });
  });

  it('falls back to the legacy SmsSid and SmsStatus fields', () => {
    expect(parseStatusCallback({ SmsSid: 'SMabc', SmsStatus: 'sent' })).toEqual({
      providerMessageId: 'SMabc',
      status: 'sent',
      errorCode: null,
      to: null,
    });
  });

  it.each([
    ['no sid', { MessageStatus: 'delivered' }],
    ['no status', { MessageSid: 'SMabc' }],
    ['an unknown status', { MessageSid: 'SMabc', MessageStatus: 'exploded' }],
  ])('answers null for %s', (_name, p) => {
    expect(parseStatusCallback(p)).toBeNull();
  });
});

describe('smsKeyword', () => {
  it.each([
    ['STOP', 'stop'],
    ['stop', 'stop'],
    ['  Stop \n', 'stop'],
    ['STOPALL', 'stop'],
    ['stop all', 'stop'],
    ['STOP   ALL', 'stop'],
    ['Unsubscribe', 'stop'],
    ['CANCEL', 'stop'],
    ['end', 'stop'],
    ['QUIT', 'stop'],
    ['optout', 'stop'],
    ['REVOKE', 'stop'],
    ['START', 'start'],
    ['yes', 'start'],
    ['Unstop', 'start'],
    ['HELP', 'help'],
    ['info', 'help'],
    ['please stop', null],
    ['STOP.', null],
    ['stopped', null],
    ['', null],
    ['hello', null],
  ])('%j → %s', (body, keyword) => {
    expect(smsKeyword(body)).toBe(keyword);
  });
});

describe('parseInboundSms', () => {
  it('reads sender, recipient, body and keyword', () => {
    expect(
      parseInboundSms({ From: '+14155550100', To: '+15005550006', Body: ' stop ', MessageSid: 'SMx' }),
    ).toEqual({
      from: '+14155550100',
      to: '+15005550006',
      body: ' stop ',
      keyword: 'stop',
    });
  });

  it('has no keyword for an ordinary message and no sender-less messages', () => {
    expect(parseInboundSms({ From: '+14155550100', Body: 'thanks!' })).toMatchObject({
      keyword: null,
      to: null,
    });
    expect(parseInboundSms({ Body: 'STOP' })).toBeNull();
  });
});

describe('twimlMessage', () => {
  it.each([
    [undefined, '<?xml version="1.0" encoding="UTF-8"?><Response/>'],
    [null, '<?xml version="1.0" encoding="UTF-8"?><Response/>'],
    ['', '<?xml version="1.0" encoding="UTF-8"?><Response/>'],
    [
      'You are unsubscribed.',
      '<?xml version="1.0" encoding="UTF-8"?><Response><Message>You are unsubscribed.</Message></Response>',
    ],
    [
      `Tom & Jerry <x> "q" 'a'\u0007`,
      '<?xml version="1.0" encoding="UTF-8"?><Response><Message>Tom &amp; Jerry &lt;x&gt; &quot;q&quot; &apos;a&apos;</Message></Response>',
    ],
  ])('%j', (text, expected) => {
    expect(twimlMessage(text)).toBe(expected);
  });
});
