#!/usr/bin/env bash
# The measurement loop on this machine, start to end (`make measure`):
# the fixtures store built with rules that hold out half of each module
# and a fifth of shoppers globally, served by `wrangler dev` over its own
# state; `firstpaint simulate` drives seeded shoppers through it with a
# planted lift; `events pull` brings the events back from the queue and
# R2; `firstpaint readout` writes build/measure/report.html.
#
# LIFT (home=0.5), SHOPPERS (4000), SEED (1) and PORT (8788) can be set.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
FP="$ROOT/target/native/firstpaint"
WRANGLER="$ROOT/node_modules/.bin/wrangler"
OUT="$ROOT/build/measure"
PORT="${PORT:-8788}"
LIFT="${LIFT:-home=0.5}"
SHOPPERS="${SHOPPERS:-4000}"
SEED="${SEED:-1}"
URL="http://127.0.0.1:$PORT"
cd "$ROOT"

rm -rf "$OUT"
mkdir -p "$OUT"
sed '/^\[experiments\]/,$d' fixtures/rules.toml > "$OUT/rules.toml"
cat >> "$OUT/rules.toml" <<RULES
[experiments]
holdout = 0.5
global_holdout = 0.2
salt = "measure"
RULES
"$FP" build --catalog fixtures/catalog.ndjson --events fixtures/events.ndjson \
  --rules "$OUT/rules.toml" --synonyms fixtures/synonyms.txt \
  --key fixtures/keys/dev.key --out "$OUT/bundle.fpb"
"$FP" publish "$OUT/bundle.fpb" --pubkey fixtures/keys/dev.pub --key fixtures/keys/dev.key \
  --local --persist-to "$OUT/state" -m "make measure"

"$WRANGLER" dev --ip 127.0.0.1 --port "$PORT" --persist-to "$OUT/state" \
  --show-interactive-dev-session=false > "$OUT/wrangler.log" 2>&1 &
WORKER=$!
trap 'kill "$WORKER" 2>/dev/null || true' EXIT
for _ in $(seq 1 180); do
  curl -fs "$URL/p13n/health" > /dev/null && break
  sleep 0.5
done
curl -fs "$URL/p13n/health" > /dev/null || { cat "$OUT/wrangler.log"; exit 1; }

"$FP" simulate --target "$URL" --rules "$OUT/rules.toml" --lift "$LIFT" \
  --shoppers "$SHOPPERS" --seed "$SEED" --json > "$OUT/planted.json"
cat "$OUT/planted.json"
ORDERS=$(sed -n 's/^  "orders": \([0-9]*\),$/\1/p' "$OUT/planted.json")
EXPOSURES=$(sed -n 's/^  "exposures": \([0-9]*\),$/\1/p' "$OUT/planted.json")

sed -n 's/^EVENTS_TOKEN = "\(.*\)"$/\1/p' wrangler.toml > "$OUT/token"
# Until every order and every exposure the edge logged is back.
PULLED=0
SHOWN=0
for _ in $(seq 1 120); do
  "$FP" events pull --from "$URL" --token-file "$OUT/token" --out "$OUT/events" > /dev/null
  PULLED=$(grep -c '"type":"order"' "$OUT/events/events.ndjson" 2>/dev/null || true)
  SHOWN=$(grep -c '"type":"exposure"' "$OUT/events/events.ndjson" 2>/dev/null || true)
  [ "${PULLED:-0}" -ge "$ORDERS" ] && [ "${SHOWN:-0}" -ge "$EXPOSURES" ] && break
  sleep 1
done
echo "pulled $PULLED of $ORDERS orders and $SHOWN of $EXPOSURES exposures"
"$FP" readout --events "$OUT/events" --rules "$OUT/rules.toml" \
  --catalog fixtures/catalog.ndjson --planned-visitors "$SHOPPERS" \
  --out "$OUT/report.html" --json > "$OUT/readout.json"
echo "the readout: $OUT/report.html (and readout.json); the planted lifts: $OUT/planted.json"
