-- The liveness state machine of a session (tries, current challenge), kept between page
-- connections so a reload cannot reset the try count.
ALTER TABLE sessions ADD COLUMN live_state TEXT;
