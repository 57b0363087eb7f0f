-- Citizens are told when their bag's voting opens (issue 12). Telegram costs nothing; SMS
-- costs the soum money, so the bag governor may choose (МЭДЭГДЭЛ SMS ТИЙМ / ҮГҮЙ):
-- 1 = by SMS too, 0 = Telegram only, NULL = the setting SANAL_VOTING_NOTICE_SMS.
ALTER TABLE units ADD COLUMN voting_notice_sms BIGINT CHECK (voting_notice_sms IN (0, 1));
