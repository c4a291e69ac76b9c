#!/bin/sh
# Writes the dev secrets into Vault's KV v2 at secret/scrumboard/dev (docker compose only; dev only).
# Vault runs in dev mode (in memory): a restarted vault container is empty again, so re-run this
# service with it: `docker compose up -d --force-recreate vault vault-seed`.
# Random values come from Vault itself (sys/tools/random); nothing secret is stored in the repository.
set -eu

: "${VAULT_ADDR:?}" "${VAULT_TOKEN:?}" "${POSTGRES_PASSWORD:?}"
SECRET_PATH="${VAULT_KV_MOUNT:-secret}/scrumboard/dev"
TOKEN_FILE="${METRICS_TOKEN_FILE:-/run/scrumboard/metrics-token}"

random() {
    vault write -field=random_bytes sys/tools/random/"$1" format=hex
}

metrics_token="$(random 32)"

vault kv put "$SECRET_PATH" \
    SECRET_KEY="$(random 48)" \
    DATABASE_URL="postgres://scrumboard:${POSTGRES_PASSWORD}@postgres:5432/scrumboard" \
    REDIS_URL="redis://redis:6379/0" \
    METRICS_TOKEN="$metrics_token" \
    WEBHOOK_SIGNING_KEY="$(random 32)" >/dev/null

# Prometheus reads the same bearer token from this file (a volume shared with the prometheus service).
mkdir -p "$(dirname "$TOKEN_FILE")"
printf '%s' "$metrics_token" >"$TOKEN_FILE"
chmod 0644 "$TOKEN_FILE"

echo "vault-seed: wrote SECRET_KEY, DATABASE_URL, REDIS_URL, METRICS_TOKEN, WEBHOOK_SIGNING_KEY to $SECRET_PATH"
