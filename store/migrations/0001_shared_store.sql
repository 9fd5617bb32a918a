-- Jingwei shared store, migration 1: departments and users, cases with notes and attachments,
-- incidents with their log, the SM3 audit chain and its checkpoints; row-level security by
-- department, the case loop and versions enforced by triggers, notifications carrying ids only.
-- Runs as jingwei_owner (a role that cannot log in), which then owns every object.

CREATE TABLE jingwei.departments (
    code text PRIMARY KEY,
    name text NOT NULL
);

-- One row per login role of the store. Inspectors and commanders belong to a department;
-- auditors and administrators see no cases and need none.
CREATE TABLE jingwei.users (
    name text PRIMARY KEY,
    role text NOT NULL CHECK (role IN ('inspector', 'commander', 'auditor', 'admin')),
    department text REFERENCES jingwei.departments (code),
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK (role NOT IN ('inspector', 'commander') OR department IS NOT NULL)
);

CREATE FUNCTION jingwei.my_department() RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, jingwei
    AS $$ SELECT department FROM jingwei.users WHERE name = session_user $$;

CREATE FUNCTION jingwei.my_role() RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, jingwei
    AS $$ SELECT role FROM jingwei.users WHERE name = session_user $$;

-- The case loop, the same table as jingwei_cases::Status::next (a test compares them).
CREATE TABLE jingwei.case_transitions (
    from_status text NOT NULL,
    to_status text NOT NULL,
    PRIMARY KEY (from_status, to_status)
);
INSERT INTO jingwei.case_transitions VALUES
    ('pending', 'confirmed'), ('pending', 'dismissed'),
    ('confirmed', 'rectifying'), ('confirmed', 'closed'), ('confirmed', 'dismissed'),
    ('rectifying', 'closed'), ('rectifying', 'confirmed'),
    ('dismissed', 'closed'), ('dismissed', 'pending'),
    ('closed', 'pending');

CREATE SEQUENCE jingwei.case_no_seq;
CREATE SEQUENCE jingwei.incident_no_seq;
CREATE TABLE jingwei.cases (
    id bigserial PRIMARY KEY,
    case_no text NOT NULL UNIQUE
        DEFAULT 'WJ' || to_char(now(), 'YYYY') || '-' || lpad(nextval('jingwei.case_no_seq')::text, 6, '0'),
    department text NOT NULL DEFAULT jingwei.my_department() REFERENCES jingwei.departments (code),
    status text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'confirmed', 'dismissed', 'rectifying', 'closed')),
    priority double precision NOT NULL DEFAULT 0,
    rules text NOT NULL DEFAULT '',
    title text NOT NULL DEFAULT '',
    source text NOT NULL DEFAULT 'manual' CHECK (source IN ('detected', 'manual')),
    building_layer text,
    building_fid bigint,
    assignee text,
    evidence text,
    -- Personal fields, SM4-GCM sealed by the client (jingwei_cases::seal); never in clear here.
    phone bytea,
    id_number bytea,
    geom geometry(Geometry, 4490),
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by text NOT NULL DEFAULT session_user,
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by text NOT NULL DEFAULT session_user,
    version integer NOT NULL DEFAULT 1
);
CREATE INDEX cases_department ON jingwei.cases (department);
CREATE INDEX cases_geom ON jingwei.cases USING gist (geom);

CREATE TABLE jingwei.case_notes (
    id bigserial PRIMARY KEY,
    case_id bigint NOT NULL REFERENCES jingwei.cases (id),
    department text NOT NULL DEFAULT jingwei.my_department() REFERENCES jingwei.departments (code),
    at timestamptz NOT NULL DEFAULT now(),
    actor text NOT NULL DEFAULT session_user,
    text text NOT NULL CHECK (btrim(text) <> '')
);
CREATE INDEX case_notes_case ON jingwei.case_notes (case_id);

CREATE TABLE jingwei.case_attachments (
    id bigserial PRIMARY KEY,
    case_id bigint NOT NULL REFERENCES jingwei.cases (id),
    department text NOT NULL DEFAULT jingwei.my_department() REFERENCES jingwei.departments (code),
    at timestamptz NOT NULL DEFAULT now(),
    actor text NOT NULL DEFAULT session_user,
    name text NOT NULL,
    mime text NOT NULL,
    size bigint NOT NULL,
    -- SM3 of the clear bytes (hex), so the audit names what was attached without holding it.
    sm3 text NOT NULL,
    -- SM4-GCM sealed by the client.
    data bytea NOT NULL
);
CREATE INDEX case_attachments_case ON jingwei.case_attachments (case_id);

CREATE TABLE jingwei.incidents (
    id bigserial PRIMARY KEY,
    incident_no text NOT NULL UNIQUE
        DEFAULT 'SJ' || to_char(now(), 'YYYY') || '-' || lpad(nextval('jingwei.incident_no_seq')::text, 6, '0'),
    department text NOT NULL DEFAULT jingwei.my_department() REFERENCES jingwei.departments (code),
    type text NOT NULL,
    severity text,
    status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'contained', 'closed')),
    title text NOT NULL DEFAULT '',
    source text NOT NULL DEFAULT 'manual',
    event_id text,
    rings_m text,
    occurred_at timestamptz,
    geom geometry(Geometry, 4490),
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by text NOT NULL DEFAULT session_user,
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by text NOT NULL DEFAULT session_user,
    version integer NOT NULL DEFAULT 1
);

CREATE TABLE jingwei.incident_log (
    id bigserial PRIMARY KEY,
    incident_id bigint NOT NULL REFERENCES jingwei.incidents (id),
    department text NOT NULL DEFAULT jingwei.my_department() REFERENCES jingwei.departments (code),
    at timestamptz NOT NULL DEFAULT now(),
    actor text NOT NULL DEFAULT session_user,
    action text NOT NULL,
    detail text
);

-- The audit chain (layout: jingwei_cases::chain, version 1). Rows are appended only by
-- jingwei.audit_append, which holds the head row's lock until the change commits: one chain,
-- no gaps, and no row of a change that rolled back.
CREATE TABLE jingwei.audit (
    seq bigint PRIMARY KEY,
    at text NOT NULL,
    actor text NOT NULL,
    department text,
    action text NOT NULL,
    entity text NOT NULL,
    entity_id bigint,
    detail text,
    prev bytea NOT NULL,
    hash bytea NOT NULL
);
CREATE TABLE jingwei.audit_head (
    one boolean PRIMARY KEY DEFAULT true CHECK (one),
    seq bigint NOT NULL,
    hash bytea NOT NULL
);
INSERT INTO jingwei.audit_head VALUES (true, 0, '\x0000000000000000000000000000000000000000000000000000000000000000');
CREATE TABLE jingwei.audit_checkpoint (
    id bigserial PRIMARY KEY,
    seq bigint NOT NULL,
    head bytea NOT NULL,
    at text NOT NULL,
    key text NOT NULL,
    signature bytea NOT NULL,
    signed_by text NOT NULL DEFAULT session_user
);

CREATE FUNCTION jingwei.audit_field(t text) RETURNS bytea
    LANGUAGE sql IMMUTABLE
    AS $$ SELECT CASE WHEN t IS NULL THEN '\xffffffff'::bytea
                      ELSE int4send(octet_length(convert_to(t, 'UTF8'))) || convert_to(t, 'UTF8') END $$;

CREATE FUNCTION jingwei.audit_append(p_action text, p_entity text, p_entity_id bigint, p_detail text)
    RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, jingwei, public
    AS $$
DECLARE
    head record;
    v_seq bigint;
    v_at text;
    v_dept text := jingwei.my_department();
    v_hash bytea;
BEGIN
    SELECT seq, hash INTO head FROM jingwei.audit_head FOR UPDATE;
    v_seq := head.seq + 1;
    v_at := to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"');
    v_hash := digest(
        convert_to('JWA1', 'UTF8') || int8send(v_seq) || head.hash
        || jingwei.audit_field(v_at) || jingwei.audit_field(session_user::text)
        || jingwei.audit_field(v_dept) || jingwei.audit_field(p_action)
        || jingwei.audit_field(p_entity) || jingwei.audit_field(p_entity_id::text)
        || jingwei.audit_field(p_detail),
        'sm3');
    INSERT INTO jingwei.audit (seq, at, actor, department, action, entity, entity_id, detail, prev, hash)
        VALUES (v_seq, v_at, session_user, v_dept, p_action, p_entity, p_entity_id, p_detail, head.hash, v_hash);
    UPDATE jingwei.audit_head SET seq = v_seq, hash = v_hash;
END $$;
REVOKE ALL ON FUNCTION jingwei.audit_append(text, text, bigint, text) FROM PUBLIC;

CREATE FUNCTION jingwei.refuse_change() RETURNS trigger
    LANGUAGE plpgsql
    AS $$ BEGIN
    RAISE EXCEPTION '%: the audit trail is append-only (% refused)', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON jingwei.audit
    FOR EACH ROW EXECUTE FUNCTION jingwei.refuse_change();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON jingwei.audit
    FOR EACH STATEMENT EXECUTE FUNCTION jingwei.refuse_change();
CREATE TRIGGER checkpoint_append_only BEFORE UPDATE OR DELETE ON jingwei.audit_checkpoint
    FOR EACH ROW EXECUTE FUNCTION jingwei.refuse_change();
CREATE TRIGGER checkpoint_no_truncate BEFORE TRUNCATE ON jingwei.audit_checkpoint
    FOR EACH STATEMENT EXECUTE FUNCTION jingwei.refuse_change();
CREATE TRIGGER head_no_truncate BEFORE TRUNCATE ON jingwei.audit_head
    FOR EACH STATEMENT EXECUTE FUNCTION jingwei.refuse_change();
CREATE FUNCTION jingwei.refuse_delete() RETURNS trigger
    LANGUAGE plpgsql
    AS $$ BEGIN
    RAISE EXCEPTION '%: records are closed, never deleted', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END $$;

-- Versions, the loop and who may do what, for cases and incidents alike.
CREATE FUNCTION jingwei.guard() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, jingwei, public
    AS $$
DECLARE
    v_role text := jingwei.my_role();
BEGIN
    IF TG_OP = 'INSERT' THEN
        -- Ids and numbers are the store's to issue: a client cannot take one another department
        -- will need (nor learn which are taken).
        NEW.id := nextval(pg_get_serial_sequence('jingwei.' || TG_TABLE_NAME, 'id'));
        IF TG_TABLE_NAME = 'cases' THEN
            -- The number drawn in this session (the client seals personal fields to it first).
            IF NEW.case_no IS DISTINCT FROM
               'WJ' || to_char(now(), 'YYYY') || '-' || lpad(currval('jingwei.case_no_seq')::text, 6, '0') THEN
                RAISE EXCEPTION 'case number % was not issued to this session', NEW.case_no
                    USING ERRCODE = 'insufficient_privilege';
            END IF;
        ELSE
            NEW.incident_no := 'SJ' || to_char(now(), 'YYYY') || '-'
                || lpad(nextval('jingwei.incident_no_seq')::text, 6, '0');
            NEW.status := 'active';
        END IF;
        NEW.version := 1;
        NEW.created_at := now();
        NEW.created_by := session_user;
        NEW.updated_at := NEW.created_at;
        NEW.updated_by := session_user;
        IF TG_TABLE_NAME = 'cases' AND NEW.status <> 'pending' THEN
            RAISE EXCEPTION 'case %: a new case starts as pending, not %', NEW.case_no, NEW.status
                USING ERRCODE = 'check_violation';
        END IF;
        IF TG_TABLE_NAME = 'incidents' AND v_role IS DISTINCT FROM 'commander' THEN
            RAISE EXCEPTION 'only commanders open incidents' USING ERRCODE = 'insufficient_privilege';
        END IF;
        RETURN NEW;
    END IF;
    -- A write carries the version it read: exactly one more than the row's.
    IF NEW.version IS DISTINCT FROM OLD.version + 1 THEN
        RAISE EXCEPTION '% %: stale write (version % read, the row is at %)', TG_TABLE_NAME, OLD.id,
            NEW.version - 1, OLD.version USING ERRCODE = 'serialization_failure', HINT = 'jingwei:stale';
    END IF;
    IF NEW.id <> OLD.id OR NEW.department <> OLD.department OR NEW.created_at <> OLD.created_at
       OR NEW.created_by <> OLD.created_by THEN
        RAISE EXCEPTION '% %: id, department and creation are fixed', TG_TABLE_NAME, OLD.id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF TG_TABLE_NAME = 'cases' THEN
        IF OLD.status = 'closed' AND v_role IS DISTINCT FROM 'commander' THEN
            RAISE EXCEPTION 'case %: closed; only commanders change or reopen it', OLD.case_no
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        IF NEW.case_no <> OLD.case_no THEN
            RAISE EXCEPTION 'case %: the case number is fixed', OLD.case_no USING ERRCODE = 'insufficient_privilege';
        END IF;
        IF NEW.status <> OLD.status THEN
            IF NOT EXISTS (SELECT 1 FROM jingwei.case_transitions
                           WHERE from_status = OLD.status AND to_status = NEW.status) THEN
                RAISE EXCEPTION 'case %: cannot go from % to %', OLD.case_no, OLD.status, NEW.status
                    USING ERRCODE = 'check_violation', HINT = 'jingwei:transition';
            END IF;
            IF (NEW.status = 'closed' OR OLD.status = 'closed') AND v_role IS DISTINCT FROM 'commander' THEN
                RAISE EXCEPTION 'case %: only commanders close or reopen cases', OLD.case_no
                    USING ERRCODE = 'insufficient_privilege';
            END IF;
        END IF;
    ELSE
        IF NEW.incident_no <> OLD.incident_no THEN
            RAISE EXCEPTION 'incident %: the number is fixed', OLD.incident_no USING ERRCODE = 'insufficient_privilege';
        END IF;
    END IF;
    NEW.updated_at := now();
    NEW.updated_by := session_user;
    RETURN NEW;
END $$;
CREATE TRIGGER cases_guard BEFORE INSERT OR UPDATE ON jingwei.cases
    FOR EACH ROW EXECUTE FUNCTION jingwei.guard();
CREATE TRIGGER incidents_guard BEFORE INSERT OR UPDATE ON jingwei.incidents
    FOR EACH ROW EXECUTE FUNCTION jingwei.guard();

-- Rows appended to a record (notes, attachments, log entries, checkpoints): the id, the author
-- and the time are the store's, never the client's.
CREATE FUNCTION jingwei.stamp() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, jingwei
    AS $$
BEGIN
    NEW.id := nextval(pg_get_serial_sequence('jingwei.' || TG_TABLE_NAME, 'id'));
    IF TG_TABLE_NAME = 'audit_checkpoint' THEN
        NEW.signed_by := session_user;
    ELSE
        NEW.actor := session_user;
        NEW.at := now();
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER audit_checkpoint_stamp BEFORE INSERT ON jingwei.audit_checkpoint
    FOR EACH ROW EXECUTE FUNCTION jingwei.stamp();

-- Every change: one audit row in the same transaction, and a notification carrying only
-- '<table>:<id>' (notifications are seen by every listener; they re-read through their rights).
CREATE FUNCTION jingwei.record() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, jingwei, public
    AS $$
DECLARE
    v_new jsonb := to_jsonb(NEW) - 'updated_at' - 'updated_by' - 'created_at';
    v_detail jsonb;
    v_id bigint := NEW.id;
    v_key text := TG_TABLE_NAME || ':' || NEW.id;
BEGIN
    IF TG_OP = 'INSERT' THEN
        v_detail := v_new;
    ELSE
        SELECT coalesce(jsonb_object_agg(n.key, jsonb_build_array(o.value, n.value)), '{}'::jsonb) INTO v_detail
            FROM jsonb_each(v_new) n JOIN jsonb_each(to_jsonb(OLD)) o ON o.key = n.key
            WHERE o.value IS DISTINCT FROM n.value;
    END IF;
    IF TG_TABLE_NAME = 'case_attachments' THEN
        v_detail := v_detail - 'data';
    END IF;
    -- A row that belongs to a case or an incident (a note, an attachment, a log entry, …) is
    -- announced as a change of that case or incident.
    IF v_new ? 'case_id' THEN
        v_key := 'cases:' || (v_new ->> 'case_id');
    ELSIF v_new ? 'incident_id' THEN
        v_key := 'incidents:' || (v_new ->> 'incident_id');
    END IF;
    PERFORM jingwei.audit_append(TG_TABLE_NAME || '.' || lower(TG_OP), TG_TABLE_NAME, v_id, v_detail::text);
    PERFORM pg_notify('jingwei', v_key);
    RETURN NULL;
END $$;
CREATE FUNCTION jingwei.record_users() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, jingwei, public
    AS $$ BEGIN
    PERFORM jingwei.audit_append(TG_TABLE_NAME || '.' || lower(TG_OP), TG_TABLE_NAME, NULL,
        jsonb_build_object('old', CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE to_jsonb(OLD) END,
                           'new', CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE to_jsonb(NEW) END)::text);
    RETURN NULL;
END $$;
CREATE TRIGGER users_record AFTER INSERT OR UPDATE OR DELETE ON jingwei.users
    FOR EACH ROW EXECUTE FUNCTION jingwei.record_users();
CREATE TRIGGER departments_record AFTER INSERT OR UPDATE OR DELETE ON jingwei.departments
    FOR EACH ROW EXECUTE FUNCTION jingwei.record_users();

-- The records: never deleted; every change audited and announced (jingwei.record); row-level
-- security, forced (the owner too): a user's own department only.
DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['case_notes', 'case_attachments', 'incident_log'] LOOP
        EXECUTE format('CREATE TRIGGER %I BEFORE INSERT ON jingwei.%I '
                       'FOR EACH ROW EXECUTE FUNCTION jingwei.stamp()', t || '_stamp', t);
    END LOOP;
    FOREACH t IN ARRAY ARRAY['cases', 'case_notes', 'case_attachments', 'incidents', 'incident_log'] LOOP
        EXECUTE format('CREATE TRIGGER %I BEFORE DELETE OR TRUNCATE ON jingwei.%I '
                       'FOR EACH STATEMENT EXECUTE FUNCTION jingwei.refuse_delete()', t || '_never_deleted', t);
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE ON jingwei.%I '
                       'FOR EACH ROW EXECUTE FUNCTION jingwei.record()', t || '_record', t);
        EXECUTE format('ALTER TABLE jingwei.%I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE jingwei.%I FORCE ROW LEVEL SECURITY', t);
    END LOOP;
END $$;
CREATE POLICY own_department ON jingwei.cases
    USING (department = jingwei.my_department()) WITH CHECK (department = jingwei.my_department());
CREATE POLICY own_department ON jingwei.case_notes
    USING (department = jingwei.my_department())
    WITH CHECK (department = jingwei.my_department()
                AND EXISTS (SELECT 1 FROM jingwei.cases c WHERE c.id = case_id));
CREATE POLICY own_department ON jingwei.case_attachments
    USING (department = jingwei.my_department())
    WITH CHECK (department = jingwei.my_department()
                AND EXISTS (SELECT 1 FROM jingwei.cases c WHERE c.id = case_id));
CREATE POLICY own_department ON jingwei.incidents
    USING (department = jingwei.my_department()) WITH CHECK (department = jingwei.my_department());
CREATE POLICY own_department ON jingwei.incident_log
    USING (department = jingwei.my_department())
    WITH CHECK (department = jingwei.my_department()
                AND EXISTS (SELECT 1 FROM jingwei.incidents i WHERE i.id = incident_id));

-- What each role may do. Nobody deletes; nobody but jingwei.audit_append writes the audit.
GRANT USAGE ON SCHEMA jingwei TO jingwei_inspector, jingwei_commander, jingwei_auditor, jingwei_admin;
GRANT EXECUTE ON FUNCTION jingwei.my_department(), jingwei.my_role()
    TO jingwei_inspector, jingwei_commander, jingwei_auditor, jingwei_admin;
GRANT SELECT ON jingwei.departments, jingwei.case_transitions
    TO jingwei_inspector, jingwei_commander, jingwei_auditor, jingwei_admin;
GRANT SELECT, INSERT, UPDATE ON jingwei.cases TO jingwei_inspector, jingwei_commander;
GRANT SELECT, INSERT ON jingwei.case_notes, jingwei.case_attachments TO jingwei_inspector, jingwei_commander;
GRANT USAGE ON SEQUENCE jingwei.case_no_seq, jingwei.cases_id_seq, jingwei.case_notes_id_seq, jingwei.case_attachments_id_seq
    TO jingwei_inspector, jingwei_commander;
GRANT SELECT ON jingwei.incidents, jingwei.incident_log TO jingwei_inspector, jingwei_commander;
GRANT INSERT, UPDATE ON jingwei.incidents TO jingwei_commander;
GRANT INSERT ON jingwei.incident_log TO jingwei_commander;
GRANT USAGE ON SEQUENCE jingwei.incident_no_seq, jingwei.incidents_id_seq, jingwei.incident_log_id_seq TO jingwei_commander;
GRANT SELECT ON jingwei.audit, jingwei.audit_head, jingwei.audit_checkpoint, jingwei.users TO jingwei_auditor;
GRANT INSERT ON jingwei.audit_checkpoint TO jingwei_auditor;
GRANT USAGE ON SEQUENCE jingwei.audit_checkpoint_id_seq TO jingwei_auditor;
GRANT SELECT, INSERT, UPDATE ON jingwei.departments TO jingwei_admin;
GRANT SELECT ON jingwei.users TO jingwei_admin;

-- Users are made and changed only here (administrators hold no CREATEROLE: with it they could
-- grant themselves jingwei_owner). Runs as jingwei_owner, which may create roles: a login role
-- of a checked name, a SCRAM verifier computed by the client, membership of exactly one group,
-- the users row. Administrators make inspectors, commanders and auditors; only a superuser makes
-- administrators; a login that is no store user is never touched.
CREATE FUNCTION jingwei.set_user(p_name text, p_role text, p_department text, p_verifier text) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, jingwei
    AS $$
DECLARE
    v_super boolean := (SELECT rolsuper FROM pg_roles WHERE rolname = session_user);
    g text;
BEGIN
    IF p_name !~ '^[a-z_][a-z0-9_]{0,62}$' OR p_name ~ '^(pg_|jingwei_)' THEN
        RAISE EXCEPTION 'user name %: lower-case letters, digits and _', p_name USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_role NOT IN ('inspector', 'commander', 'auditor', 'admin') THEN
        RAISE EXCEPTION 'role %: inspector, commander, auditor or admin', p_role USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NOT v_super AND (jingwei.my_role() IS DISTINCT FROM 'admin' OR p_role = 'admin') THEN
        RAISE EXCEPTION 'only administrators add users, and only a superuser adds administrators'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF p_verifier !~ '^SCRAM-SHA-256\$' THEN
        RAISE EXCEPTION 'a password is set as a SCRAM-SHA-256 verifier' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = p_name) THEN
        IF NOT EXISTS (SELECT 1 FROM jingwei.users WHERE name = p_name) AND NOT v_super THEN
            RAISE EXCEPTION 'login % exists and is not a user of this store', p_name USING ERRCODE = 'insufficient_privilege';
        END IF;
        IF (SELECT rolsuper FROM pg_roles WHERE rolname = p_name) THEN
            RAISE EXCEPTION 'login % is a superuser', p_name USING ERRCODE = 'insufficient_privilege';
        END IF;
        EXECUTE format('ALTER ROLE %I LOGIN NOCREATEROLE PASSWORD %L', p_name, p_verifier);
    ELSE
        EXECUTE format('CREATE ROLE %I LOGIN NOCREATEROLE PASSWORD %L', p_name, p_verifier);
    END IF;
    FOREACH g IN ARRAY ARRAY['inspector', 'commander', 'auditor', 'admin'] LOOP
        IF g = p_role THEN
            EXECUTE format('GRANT %I TO %I', 'jingwei_' || g, p_name);
        ELSE
            EXECUTE format('REVOKE %I FROM %I', 'jingwei_' || g, p_name);
        END IF;
    END LOOP;
    INSERT INTO jingwei.users (name, role, department) VALUES (p_name, p_role, p_department)
        ON CONFLICT (name) DO UPDATE SET role = excluded.role, department = excluded.department;
END $$;
REVOKE ALL ON FUNCTION jingwei.set_user(text, text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION jingwei.set_user(text, text, text, text) TO jingwei_admin;
