-- A version of the directory rows that token requests read (store/tracked_cache.h): one is added
-- to n in the same transaction as any change to these tables, whoever makes it (custodyd, another
-- node, an administrator's SQL), so that rows cached under one n are exactly the rows of any
-- snapshot that reads the same n.
CREATE TABLE directory_version (
  id BIGINT PRIMARY KEY,
  n BIGINT NOT NULL
);
INSERT INTO directory_version (id, n) VALUES (1, 0);

-- SQLite has row triggers only; no DELETE without WHERE skips them (a table with triggers is
-- never truncated in one step).
{{SQLITE}}CREATE TRIGGER identities_version_insert AFTER INSERT ON identities BEGIN UPDATE directory_version SET n = n + 1 WHERE id = 1; END;
{{SQLITE}}CREATE TRIGGER identities_version_update AFTER UPDATE ON identities BEGIN UPDATE directory_version SET n = n + 1 WHERE id = 1; END;
{{SQLITE}}CREATE TRIGGER identities_version_delete AFTER DELETE ON identities BEGIN UPDATE directory_version SET n = n + 1 WHERE id = 1; END;
{{SQLITE}}CREATE TRIGGER credentials_version_insert AFTER INSERT ON credentials BEGIN UPDATE directory_version SET n = n + 1 WHERE id = 1; END;
{{SQLITE}}CREATE TRIGGER credentials_version_update AFTER UPDATE ON credentials BEGIN UPDATE directory_version SET n = n + 1 WHERE id = 1; END;
{{SQLITE}}CREATE TRIGGER credentials_version_delete AFTER DELETE ON credentials BEGIN UPDATE directory_version SET n = n + 1 WHERE id = 1; END;
{{SQLITE}}CREATE TRIGGER entitlements_version_insert AFTER INSERT ON entitlements BEGIN UPDATE directory_version SET n = n + 1 WHERE id = 1; END;
{{SQLITE}}CREATE TRIGGER entitlements_version_update AFTER UPDATE ON entitlements BEGIN UPDATE directory_version SET n = n + 1 WHERE id = 1; END;
{{SQLITE}}CREATE TRIGGER entitlements_version_delete AFTER DELETE ON entitlements BEGIN UPDATE directory_version SET n = n + 1 WHERE id = 1; END;
{{SQLITE}}CREATE TRIGGER device_identities_version_insert AFTER INSERT ON device_identities BEGIN UPDATE directory_version SET n = n + 1 WHERE id = 1; END;
{{SQLITE}}CREATE TRIGGER device_identities_version_update AFTER UPDATE ON device_identities BEGIN UPDATE directory_version SET n = n + 1 WHERE id = 1; END;
{{SQLITE}}CREATE TRIGGER device_identities_version_delete AFTER DELETE ON device_identities BEGIN UPDATE directory_version SET n = n + 1 WHERE id = 1; END;
{{SQLITE}}CREATE TRIGGER discovery_findings_version_insert AFTER INSERT ON discovery_findings BEGIN UPDATE directory_version SET n = n + 1 WHERE id = 1; END;
{{SQLITE}}CREATE TRIGGER discovery_findings_version_update AFTER UPDATE ON discovery_findings BEGIN UPDATE directory_version SET n = n + 1 WHERE id = 1; END;
{{SQLITE}}CREATE TRIGGER discovery_findings_version_delete AFTER DELETE ON discovery_findings BEGIN UPDATE directory_version SET n = n + 1 WHERE id = 1; END;

-- PostgreSQL: once per statement, TRUNCATE included.
{{POSTGRES}}CREATE FUNCTION custody_directory_version_bump() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN UPDATE directory_version SET n = n + 1 WHERE id = 1; RETURN NULL; END $$;
{{POSTGRES}}CREATE TRIGGER identities_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON identities FOR EACH STATEMENT EXECUTE FUNCTION custody_directory_version_bump();
{{POSTGRES}}CREATE TRIGGER credentials_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON credentials FOR EACH STATEMENT EXECUTE FUNCTION custody_directory_version_bump();
{{POSTGRES}}CREATE TRIGGER entitlements_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON entitlements FOR EACH STATEMENT EXECUTE FUNCTION custody_directory_version_bump();
{{POSTGRES}}CREATE TRIGGER device_identities_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON device_identities FOR EACH STATEMENT EXECUTE FUNCTION custody_directory_version_bump();
{{POSTGRES}}CREATE TRIGGER discovery_findings_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON discovery_findings FOR EACH STATEMENT EXECUTE FUNCTION custody_directory_version_bump();
