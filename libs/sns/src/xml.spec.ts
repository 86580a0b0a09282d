import { describe, expect, it } from 'vitest';
import { SnsError } from './sns-error';
import { actionResponse, element, entryMap, errorResponse, escapeXml, fields, memberList } from './xml';

describe('XML answers', () => {
  it.each<[string, string]>([
    ['plain', 'plain'],
    ['<a href="x">&\'</a>', '&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;'],
    ['tab\tnew\nline\rkept', 'tab\tnew\nline\rkept'],
    ['nul\u0000 bell\u0007 esc\u001b', 'nul\ufffd bell\ufffd esc\ufffd'],
    ['lone \ud800 high, lone \udc00 low', 'lone \ufffd high, lone \ufffd low'],
    ['pair 😀 kept', 'pair 😀 kept'],
  ])('escapes %j', (text, expected) => {
    expect(escapeXml(text)).toBe(expected);
  });

  it('writes results with members, entries and optional fields', () => {
    const xml = actionResponse('ListTopics', 'req-1', [
      memberList('Topics', [[element('TopicArn', 'arn:a')], [element('TopicArn', 'arn:b')]]),
      ...fields({ NextToken: undefined, Other: null }),
    ]);
    expect(xml).toBe(
      '<?xml version="1.0" encoding="UTF-8"?>\n<ListTopicsResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">' +
        '<ListTopicsResult><Topics><member><TopicArn>arn:a</TopicArn></member><member><TopicArn>arn:b</TopicArn></member></Topics></ListTopicsResult>' +
        '<ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></ListTopicsResponse>\n',
    );
    expect(entryMap('Attributes', [['DisplayName', 'A & B']])).toBe(
      '<Attributes><entry><key>DisplayName</key><value>A &amp; B</value></entry></Attributes>',
    );
  });

  it('writes actions without a result and errors', () => {
    expect(actionResponse('DeleteTopic', 'r', null)).toContain(
      '<DeleteTopicResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><ResponseMetadata>',
    );
    expect(errorResponse(new SnsError('NotFound', 404, 'Topic does not exist'), 'r')).toContain(
      '<Error><Type>Sender</Type><Code>NotFound</Code><Message>Topic does not exist</Message></Error><RequestId>r</RequestId>',
    );
    expect(errorResponse(new SnsError('InternalError', 500, 'x'), 'r')).toContain('<Type>Receiver</Type>');
  });
});
