-- Discovery reports move discovery_findings.last_seen_at on every sighting (inventory/findings.cc),
-- and 0019's trigger counted each as a directory change: at fleet scale every report emptied the
-- token path's read cache. No cached statement reads last_seen_at (store/tracked_cache.h:
-- kUnwatchedColumns; check_reads_tracked_tables_only refuses one that names it), so an UPDATE
-- that sets only it leaves n alone. Every other column is listed: an UPDATE that sets any of them
-- still moves n, and a column added later must be added here (store_tracked_cache_test checks
-- each column of the table).
{{SQLITE}}DROP TRIGGER discovery_findings_version_update;
{{SQLITE}}CREATE TRIGGER discovery_findings_version_update AFTER UPDATE OF identity_id, definition_hash, kind, name, transport, target, definition, registered_hash, drifted_hash, drifted_at, reject_reason, first_seen_at ON discovery_findings BEGIN UPDATE directory_version SET n = n + 1 WHERE id = 1; END;
{{POSTGRES}}DROP TRIGGER discovery_findings_version ON discovery_findings;
{{POSTGRES}}CREATE TRIGGER discovery_findings_version AFTER INSERT OR UPDATE OF identity_id, definition_hash, kind, name, transport, target, definition, registered_hash, drifted_hash, drifted_at, reject_reason, first_seen_at OR DELETE OR TRUNCATE ON discovery_findings FOR EACH STATEMENT EXECUTE FUNCTION custody_directory_version_bump();
