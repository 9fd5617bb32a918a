-- Jingwei shared store, migration 3: the field-app gateway (`jingwei serve`) acts for each user
-- with that user's rights and in that user's name; personal fields and attachments only sealed;
-- the security-definer functions no longer search `public`.
--
-- Who acts. A user who logs in is `session_user`. The gateway logs in as itself (a member of
-- jingwei_gateway, which holds no rights of its own) and, for each request it has authenticated,
-- does `SET ROLE <user>`: inspectors and commanders are granted to jingwei_gateway, which does
-- not inherit (NOINHERIT), so the gateway has no user's rights until it becomes that user.
-- jingwei.actor() is then the user, not the gateway: the department, the role, the stamps, the
-- audit rows and the row-level security all read it. (Membership is read from pg_auth_members:
-- pg_has_role would count every superuser as a gateway.) Anyone else is always their own
-- session_user (a user cannot become another: no user is a member of another).

DO $$ BEGIN
    CREATE ROLE jingwei_gateway NOLOGIN NOINHERIT;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END $$;
ALTER ROLE jingwei_gateway NOINHERIT;

CREATE FUNCTION jingwei.actor() RETURNS text
    LANGUAGE sql STABLE SET search_path = pg_catalog
    AS $$ SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_auth_members m
                                   JOIN pg_roles g ON g.oid = m.roleid JOIN pg_roles l ON l.oid = m.member
                                   WHERE g.rolname = 'jingwei_gateway' AND l.rolname = session_user)
                      THEN nullif(current_setting('role'), 'none')
                      ELSE session_user::text END $$;
GRANT EXECUTE ON FUNCTION jingwei.actor() TO PUBLIC;

ALTER TABLE jingwei.users DROP CONSTRAINT users_role_check;
ALTER TABLE jingwei.users ADD CONSTRAINT users_role_check
    CHECK (role IN ('inspector', 'commander', 'auditor', 'admin', 'gateway'));

-- Every function of migrations 1 and 2 that read session_user reads jingwei.actor() instead
-- (set_user is redefined below); the ones that searched `public` for pgcrypto's digest() call
-- it by its full name and search only pg_catalog and jingwei (a function planted in `public`
-- is never run as the owner).
DO $$
DECLARE
    f record;
    def text;
BEGIN
    FOR f IN SELECT p.oid, p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
             WHERE n.nspname = 'jingwei' AND p.proname NOT IN ('set_user', 'actor', 'login_verifier')
               AND (p.prosrc ~* 'session_user' OR array_to_string(p.proconfig, ',') ~ 'public') LOOP
        def := pg_get_functiondef(f.oid);
        def := regexp_replace(def, 'session_user(::text)?', 'jingwei.actor()', 'gi');
        def := replace(def, ', ''public''', '');
        def := regexp_replace(def, '(?<![.a-z_])digest\(', 'public.digest(', 'g');
        EXECUTE def;
    END LOOP;
END $$;

-- Defaults that named session_user (the stamps overwrite them; kept true all the same).
DO $$
DECLARE c record;
BEGIN
    FOR c IN SELECT cl.relname, a.attname FROM pg_attrdef d
             JOIN pg_class cl ON cl.oid = d.adrelid
             JOIN pg_namespace n ON n.oid = cl.relnamespace
             JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
             WHERE n.nspname = 'jingwei' AND pg_get_expr(d.adbin, d.adrelid) ~* 'session_user' LOOP
        EXECUTE format('ALTER TABLE jingwei.%I ALTER COLUMN %I SET DEFAULT jingwei.actor()', c.relname, c.attname);
    END LOOP;
END $$;

DROP POLICY own_checkouts ON jingwei.checkouts;
CREATE POLICY own_checkouts ON jingwei.checkouts
    USING (by = jingwei.actor()) WITH CHECK (by = jingwei.actor() AND department = jingwei.my_department());

-- Personal fields and attachments are only ever sealed (SM4-GCM, `SM4G` and format version 1
-- first): a client that writes them in clear is refused, and nothing stored in clear is shown
-- as if it were a sealed value opened. Rows written before stay as they were (NOT VALID).
ALTER TABLE jingwei.cases ADD CONSTRAINT cases_phone_sealed
    CHECK (phone IS NULL OR substring(phone FROM 1 FOR 5) = '\x534d344701'::bytea) NOT VALID;
ALTER TABLE jingwei.cases ADD CONSTRAINT cases_id_number_sealed
    CHECK (id_number IS NULL OR substring(id_number FROM 1 FOR 5) = '\x534d344701'::bytea) NOT VALID;
ALTER TABLE jingwei.case_attachments ADD CONSTRAINT case_attachments_sealed
    CHECK (substring(data FROM 1 FOR 5) = '\x534d344701'::bytea) NOT VALID;

-- Users: as in migration 1, and the gateway's logins (made only by a superuser; no department;
-- members of jingwei_gateway). Inspectors and commanders are granted to jingwei_gateway so that
-- the gateway may act for them; auditors and administrators never are.
CREATE OR REPLACE FUNCTION jingwei.set_user(p_name text, p_role text, p_department text, p_verifier text) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, jingwei
    AS $$
DECLARE
    v_super boolean := (SELECT rolsuper FROM pg_roles WHERE rolname = session_user);
    g text;
BEGIN
    IF p_name !~ '^[a-z_][a-z0-9_]{0,62}$' OR p_name ~ '^(pg_|jingwei_)' THEN
        RAISE EXCEPTION 'user name %: lower-case letters, digits and _', p_name USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_role NOT IN ('inspector', 'commander', 'auditor', 'admin', 'gateway') THEN
        RAISE EXCEPTION 'role %: inspector, commander, auditor, admin or gateway', p_role
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NOT v_super AND (jingwei.my_role() IS DISTINCT FROM 'admin' OR p_role IN ('admin', 'gateway')
                        OR EXISTS (SELECT 1 FROM jingwei.users WHERE name = p_name AND role IN ('admin', 'gateway'))) THEN
        RAISE EXCEPTION 'only administrators add users, and only a superuser adds or changes administrators and gateways'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF p_verifier !~ '^SCRAM-SHA-256\$' THEN
        RAISE EXCEPTION 'a password is set as a SCRAM-SHA-256 verifier' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_role = 'gateway' AND p_department IS NOT NULL THEN
        RAISE EXCEPTION 'a gateway belongs to no department' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = p_name) THEN
        IF NOT EXISTS (SELECT 1 FROM jingwei.users WHERE name = p_name) AND NOT v_super THEN
            RAISE EXCEPTION 'login % exists and is not a user of this store', p_name USING ERRCODE = 'insufficient_privilege';
        END IF;
        IF (SELECT rolsuper FROM pg_roles WHERE rolname = p_name) THEN
            RAISE EXCEPTION 'login % is a superuser', p_name USING ERRCODE = 'insufficient_privilege';
        END IF;
        EXECUTE format('ALTER ROLE %I LOGIN INHERIT NOCREATEROLE PASSWORD %L', p_name, p_verifier);
    ELSE
        EXECUTE format('CREATE ROLE %I LOGIN INHERIT NOCREATEROLE PASSWORD %L', p_name, p_verifier);
    END IF;
    -- Never both ways round: a gateway is not acted for, a user does not act.
    IF p_role IN ('inspector', 'commander') THEN
        EXECUTE format('GRANT %I TO jingwei_gateway', p_name);
    ELSE
        EXECUTE format('REVOKE %I FROM jingwei_gateway', p_name);
    END IF;
    FOREACH g IN ARRAY ARRAY['inspector', 'commander', 'auditor', 'admin', 'gateway'] LOOP
        IF g = p_role THEN
            EXECUTE format('GRANT %I TO %I', 'jingwei_' || g, p_name);
        ELSE
            EXECUTE format('REVOKE %I FROM %I', 'jingwei_' || g, p_name);
        END IF;
    END LOOP;
    INSERT INTO jingwei.users (name, role, department) VALUES (p_name, p_role, p_department)
        ON CONFLICT (name) DO UPDATE SET role = excluded.role, department = excluded.department;
END $$;

-- The users made before this migration.
DO $$
DECLARE u record;
BEGIN
    FOR u IN SELECT name FROM jingwei.users WHERE role IN ('inspector', 'commander') LOOP
        EXECUTE format('GRANT %I TO jingwei_gateway', u.name);
    END LOOP;
END $$;

GRANT USAGE ON SCHEMA jingwei TO jingwei_gateway;
GRANT EXECUTE ON FUNCTION jingwei.my_department(), jingwei.my_role() TO jingwei_gateway;
