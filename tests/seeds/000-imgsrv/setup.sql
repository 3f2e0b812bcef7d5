-- imgsrv's durable state for the real-Prometheus test: the tables the sql_metrics of
-- packaging/seeds/000-imgsrv/ustatsd.json read, with rows that make the SQL gauges exist
-- and the age alerts fire (a due queued CAS job 10 minutes old, a CAS job running for 20
-- minutes, a due publish step queued for 10 minutes).
CREATE TABLE upload_sessions (id bigserial PRIMARY KEY, state text NOT NULL);
CREATE TABLE cas_ingest_jobs (id bigserial PRIMARY KEY, state text NOT NULL,
                              due_at timestamptz NOT NULL, started_at timestamptz);
CREATE TABLE cas_blobs (digest text PRIMARY KEY, verified boolean NOT NULL,
                        size_bytes bigint NOT NULL);
CREATE TABLE publish_jobs (id bigserial PRIMARY KEY, state text NOT NULL);
CREATE TABLE publish_steps (id bigserial PRIMARY KEY, step text NOT NULL, state text NOT NULL,
                            due_at timestamptz NOT NULL, started_at timestamptz);
CREATE TABLE image_versions (id bigserial PRIMARY KEY, state text NOT NULL);
CREATE TABLE incus_projection (id bigserial PRIMARY KEY);

INSERT INTO upload_sessions (state) VALUES ('open'), ('open'), ('committed'), ('aborted');
INSERT INTO cas_ingest_jobs (state, due_at, started_at) VALUES
    ('queued', now() - interval '10 minutes', NULL),
    ('queued', now() + interval '1 hour', NULL),
    ('running', now() - interval '21 minutes', now() - interval '20 minutes'),
    ('succeeded', now() - interval '1 hour', now() - interval '59 minutes');
INSERT INTO cas_blobs (digest, verified, size_bytes) VALUES
    ('sha256:a', true, 1048576), ('sha256:b', true, 2097152), ('sha256:c', false, 10);
INSERT INTO publish_jobs (state) VALUES ('queued'), ('running'), ('succeeded');
INSERT INTO publish_steps (step, state, due_at, started_at) VALUES
    ('mirror', 'queued', now() - interval '10 minutes', NULL),
    ('sign', 'running', now() - interval '2 minutes', now() - interval '1 minute'),
    ('project', 'succeeded', now() - interval '1 hour', now() - interval '59 minutes');
INSERT INTO image_versions (state) VALUES ('publishing'), ('published');
INSERT INTO incus_projection DEFAULT VALUES;
INSERT INTO incus_projection DEFAULT VALUES;
