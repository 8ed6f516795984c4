#!/bin/sh
# The reports replica (docker-compose.yml, profile "replica"): a hot standby of the postgres service, streaming
# from it, which report pages, exports, the reports API and the statistics store read (REPORTS_DATABASE_URL,
# reports/replica.py). Runs in the postgres image, as the postgres user.
#
#   role    as the owner of the primary (POSTGRES_PASSWORD): create the replication role "replicator", or set its
#           password again (REPLICATION_PASSWORD); run by the one-shot replica-role service
#   serve   on first start, clone the primary into the empty volume (pg_basebackup, as "replicator"); then run
#           the standby. A replica that fell too far behind to catch up says so in its log: remove its volume
#           and start it again to clone it anew.
set -eu

primary="${PRIMARY_HOST:-postgres}"
: "${REPLICATION_PASSWORD:?set REPLICATION_PASSWORD (URL-safe, e.g. openssl rand -hex 32)}"

case "${1:-}" in
    role)
        export PGPASSWORD="$POSTGRES_PASSWORD"
        until pg_isready -q -h "$primary" -U helpline -d helpline; do sleep 1; done
        psql -q -v ON_ERROR_STOP=1 -h "$primary" -U helpline -d helpline <<'SQL'
\getenv password REPLICATION_PASSWORD
SELECT 'CREATE ROLE replicator' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'replicator') \gexec
ALTER ROLE replicator WITH REPLICATION LOGIN PASSWORD :'password';
SQL
        ;;
    serve)
        if [ ! -s "$PGDATA/PG_VERSION" ]; then
            # The password is written into the volume's postgresql.auto.conf, for the standby to stream with.
            export PGPASSWORD="$REPLICATION_PASSWORD"
            until pg_isready -q -h "$primary" -U replicator -d helpline; do sleep 1; done
            pg_basebackup -h "$primary" -U replicator -D "$PGDATA" --write-recovery-conf --wal-method=stream \
                --checkpoint=fast --progress
            unset PGPASSWORD
        fi
        chmod 0700 "$PGDATA"
        # hot_standby_feedback: the primary keeps the rows a long report is still reading, instead of the report
        # being cancelled by the replay of their removal.
        exec postgres -c hba_file=/etc/postgresql/pg_hba.conf -c hot_standby=on -c hot_standby_feedback=on
        ;;
    *)
        echo "usage: replica.sh role|serve" >&2
        exit 2
        ;;
esac
