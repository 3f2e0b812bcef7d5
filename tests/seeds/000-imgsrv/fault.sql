-- Run by the real-Prometheus test (tests/e2e/test_e2e_seeds.c) once every dashboard panel
-- has shown data: the table of imgsrv_publish_versions_publishing goes, its query fails
-- at the collector's next run, and UstatsdSqlCollectorDown fires. No alert reads that
-- gauge, so every other alert still fires.
ALTER TABLE image_versions RENAME TO image_versions_gone;
