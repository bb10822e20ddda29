-- The store's records in the product's own words, not a vendor's. A session's result and a
-- webhook job hold how the session ended (store model.rs `Outcome`); each API facade maps it
-- to its contract's code. Rows written before held the primary contract's codes, which are
-- translated here. `use_slave_url` (a vendor's name) becomes `secondary_device`: the
-- verification was made on the second device, through the cross-device link.
ALTER TABLE sessions RENAME COLUMN use_slave_url TO secondary_device;
ALTER TABLE sessions RENAME COLUMN result_code TO outcome;
ALTER TABLE webhook_jobs RENAME COLUMN result_code TO outcome;
CREATE TABLE outcome_words (code TEXT PRIMARY KEY, outcome TEXT NOT NULL);
INSERT INTO outcome_words (code, outcome) VALUES
    ('SUCCESS', 'judged'),
    ('NO_FACE_DETECTED', 'quality.no_face'),
    ('TOO_MANY_FACES_DETECTED', 'quality.too_many_faces'),
    ('INVALID_FACE_DETECTED', 'quality.invalid_face'),
    ('FACE_OCCLUDED', 'quality.occluded'),
    ('FACE_QUALITY_TOO_POOR', 'quality.poor'),
    ('NOT_COMPLETED', 'not_completed'),
    ('LOCKED_OUT', 'locked_out');
UPDATE sessions
   SET outcome = (SELECT w.outcome FROM outcome_words w WHERE w.code = sessions.outcome)
 WHERE outcome IN (SELECT code FROM outcome_words);
UPDATE webhook_jobs
   SET outcome = (SELECT w.outcome FROM outcome_words w WHERE w.code = webhook_jobs.outcome)
 WHERE outcome IN (SELECT code FROM outcome_words);
DROP TABLE outcome_words;
