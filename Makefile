# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test install lint migrate clean-var backup restore restore-drill

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.11 or newer is needed (set PYTHON=python3.11)." if sys.version_info < (3, 11) else 0)'
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(BIN)/python requirements.txt requirements-dev.txt
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

## Run web (http://127.0.0.1:8000), worker and beat with demo data. Ctrl-C stops all three.
run: install
	$(BIN)/python -m helpline.run

## Run the whole test suite (on DATABASE_URL if set, else the embedded PostgreSQL), one process per core.
test: install
	$(BIN)/pytest -n auto

## Back up the database (pg_dump -Fc, encrypted to BACKUP_PUBLIC_KEY, with a checksum and row counts) into var/backups, or BACKUP_DIR.
backup: install
	$(BIN)/python -m helpline.backup backup

## Restore FILE=var/backups/helpline-....dump into an empty database, after checking its checksum.
restore: install
	@test -n "$(FILE)" || { echo "Usage: make restore FILE=var/backups/helpline-YYYYmmdd-HHMMSS.dump" >&2; exit 2; }
	$(BIN)/python -m helpline.backup restore "$(FILE)"

## Restore the newest backup into a scratch database, compare its row counts with the backup's, drop it.
restore-drill: install
	$(BIN)/python -m helpline.backup drill

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
