-- Jingwei shared store, migration 2: conflict records of offline check-ins. When a field was
-- changed both in the field (offline) and in the store since the check-out, to different values,
-- nothing is overwritten: the check-in writes a conflict a commander resolves.

CREATE TABLE jingwei.conflicts (
    id bigserial PRIMARY KEY,
    case_id bigint NOT NULL REFERENCES jingwei.cases (id),
    department text NOT NULL DEFAULT jingwei.my_department() REFERENCES jingwei.departments (code),
    field text NOT NULL,
    base text,
    theirs text,
    mine text,
    why text NOT NULL DEFAULT '',
    checkout text NOT NULL,
    mine_by text NOT NULL DEFAULT session_user,
    at timestamptz NOT NULL DEFAULT now(),
    resolution text CHECK (resolution IN ('theirs', 'mine')),
    resolved_by text,
    resolved_at timestamptz
);
CREATE INDEX conflicts_case ON jingwei.conflicts (case_id);

-- A conflict is recorded as the store's: its id, who checked in, when, unresolved.
CREATE FUNCTION jingwei.stamp_conflict() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, jingwei
    AS $$
BEGIN
    NEW.id := nextval('jingwei.conflicts_id_seq');
    NEW.mine_by := session_user;
    NEW.at := now();
    NEW.resolution := NULL;
    NEW.resolved_by := NULL;
    NEW.resolved_at := NULL;
    RETURN NEW;
END $$;
CREATE TRIGGER conflicts_stamp BEFORE INSERT ON jingwei.conflicts
    FOR EACH ROW EXECUTE FUNCTION jingwei.stamp_conflict();

-- Each check-out once: the check-in consumes its row in the same transaction, so a retry after
-- a lost acknowledgement, a copy of the file or a file of another store is refused.
CREATE TABLE jingwei.checkouts (
    id text PRIMARY KEY DEFAULT md5(random()::text || clock_timestamp()::text),
    by text NOT NULL DEFAULT session_user,
    department text NOT NULL DEFAULT jingwei.my_department() REFERENCES jingwei.departments (code),
    taken_at timestamptz NOT NULL DEFAULT now(),
    checked_in_at timestamptz
);
ALTER TABLE jingwei.checkouts ENABLE ROW LEVEL SECURITY;
ALTER TABLE jingwei.checkouts FORCE ROW LEVEL SECURITY;
CREATE POLICY own_checkouts ON jingwei.checkouts
    USING (by = session_user) WITH CHECK (by = session_user AND department = jingwei.my_department());
GRANT SELECT, INSERT ON jingwei.checkouts TO jingwei_inspector, jingwei_commander;
GRANT UPDATE (checked_in_at) ON jingwei.checkouts TO jingwei_inspector, jingwei_commander;
CREATE TRIGGER checkouts_never_deleted BEFORE DELETE OR TRUNCATE ON jingwei.checkouts
    FOR EACH STATEMENT EXECUTE FUNCTION jingwei.refuse_delete();

-- Only commanders resolve, once, and a resolution changes nothing but itself.
CREATE FUNCTION jingwei.guard_conflict() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, jingwei
    AS $$
BEGIN
    IF jingwei.my_role() IS DISTINCT FROM 'commander' THEN
        RAISE EXCEPTION 'conflict %: only commanders resolve conflicts', OLD.id USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF OLD.resolution IS NOT NULL THEN
        RAISE EXCEPTION 'conflict %: already resolved (%)', OLD.id, OLD.resolution USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.resolution IS NULL OR (NEW.id, NEW.case_id, NEW.department, NEW.field, NEW.base, NEW.theirs, NEW.mine,
        NEW.why, NEW.checkout, NEW.mine_by, NEW.at) IS DISTINCT FROM (OLD.id, OLD.case_id, OLD.department, OLD.field,
        OLD.base, OLD.theirs, OLD.mine, OLD.why, OLD.checkout, OLD.mine_by, OLD.at) THEN
        RAISE EXCEPTION 'conflict %: a resolution sets only the resolution', OLD.id USING ERRCODE = 'insufficient_privilege';
    END IF;
    NEW.resolved_by := session_user;
    NEW.resolved_at := now();
    RETURN NEW;
END $$;
CREATE TRIGGER conflicts_guard BEFORE UPDATE ON jingwei.conflicts
    FOR EACH ROW EXECUTE FUNCTION jingwei.guard_conflict();
CREATE TRIGGER conflicts_never_deleted BEFORE DELETE OR TRUNCATE ON jingwei.conflicts
    FOR EACH STATEMENT EXECUTE FUNCTION jingwei.refuse_delete();

-- Audited and announced like the rest, as a change of its case (jingwei.record).
CREATE TRIGGER conflicts_record AFTER INSERT OR UPDATE ON jingwei.conflicts
    FOR EACH ROW EXECUTE FUNCTION jingwei.record();

ALTER TABLE jingwei.conflicts ENABLE ROW LEVEL SECURITY;
ALTER TABLE jingwei.conflicts FORCE ROW LEVEL SECURITY;
CREATE POLICY own_department ON jingwei.conflicts
    USING (department = jingwei.my_department())
    WITH CHECK (department = jingwei.my_department()
                AND EXISTS (SELECT 1 FROM jingwei.cases c WHERE c.id = case_id));
GRANT SELECT, INSERT ON jingwei.conflicts TO jingwei_inspector, jingwei_commander;
GRANT UPDATE ON jingwei.conflicts TO jingwei_commander;
GRANT USAGE ON SEQUENCE jingwei.conflicts_id_seq TO jingwei_inspector, jingwei_commander;
