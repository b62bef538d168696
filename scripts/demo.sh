#!/usr/bin/env bash
# The main job, in one command, on a fresh machine with Rust and Python 3:
#
#   1. build the server and the kernel in release mode;
#   2. start wendelin-server on a free loopback port with a fresh data
#      folder (.demo/data);
#   3. ingest the tutorial's recording (notebooks/data/speaker-positions.wav)
#      the way fluentd's wendelin output sends it: msgpack frames through the
#      `default` ingestion policy, in 1 MiB buffer chunks;
#   4. install the kernel into the project's Python environment (.venv);
#   5. execute every notebook in notebooks/ headless with
#      `jupyter nbconvert --execute` (a failing cell fails the job);
#   6. store each executed notebook on a Data Notebook on the server, and
#      print where the results are.
#
# The server is stopped at the end; `--keep` leaves it running (its URL and
# credentials are printed) so the results can be browsed or reused.
set -euo pipefail
cd "$(dirname "$0")/.."

keep=false
for argument in "$@"; do
  case "$argument" in
    --keep) keep=true ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "unknown argument '$argument'; use --keep or --help" >&2; exit 2 ;;
  esac
done

started=$(date +%s)
work=.demo
user=${WENDELIN_USER:-zope}
password=${WENDELIN_PASSWORD:-insecure}

echo "== building (release)" >&2
cargo build --release -p wendelin-server -p wendelin-kernel
bin=${CARGO_TARGET_DIR:-target}/release

echo "== Python environment" >&2
bash scripts/python-env.sh
python=.venv/bin/python

echo "== starting wendelin-server with a fresh data folder ($work/data)" >&2
rm -rf "$work"
mkdir -p "$work/executed"
"$bin/wendelin-server" --listen 127.0.0.1:0 --data-dir "$work/data" --user "$user" --password "$password" \
  > "$work/server.out" 2> "$work/server.log" &
server_pid=$!
stop_server() { kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; }
if [ "$keep" = false ]; then trap stop_server EXIT; fi

url=""
for _ in $(seq 1 100); do
  url=$(grep -o 'http://[^ ]*/erp5' "$work/server.out" 2>/dev/null | head -n 1 || true)
  [ -n "$url" ] && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; echo "wendelin-server did not start" >&2; exit 1; }
  sleep 0.1
done
[ -n "$url" ] || { echo "wendelin-server printed no URL within 10 s; see $work/server.log" >&2; exit 1; }
echo "server: $url (user $user)" >&2

echo "== ingesting the recording as fluentd would" >&2
"$python" scripts/fluentd_ingest.py notebooks/data/speaker-positions.wav \
  --url "$url" --tag speaker-positions --user "$user" --password "$password"

echo "== installing the kernel into .venv" >&2
VIRTUAL_ENV="$PWD/.venv" "$bin/wendelin-kernel" install --sys-prefix

echo "== executing the notebooks headless" >&2
export WENDELIN_URL="$url" WENDELIN_USER="$user" WENDELIN_PASSWORD="$password"
notebook_urls=()
for notebook in notebooks/*.ipynb; do
  name=$(basename "$notebook" .ipynb)
  .venv/bin/jupyter nbconvert --to notebook --execute --ExecutePreprocessor.kernel_name=wendelin \
    --ExecutePreprocessor.timeout=600 --output-dir "$work/executed" "$notebook"
  notebook_urls+=("$("$python" scripts/store_notebook.py "$work/executed/$name.ipynb" \
    --url "$url" --user "$user" --password "$password")")
done

echo
echo "The main job finished in $(( $(date +%s) - started )) s."
echo "Executed notebooks: $work/executed/"
echo "Stored on the server, beside the record of their runs:"
printf '  %s\n' "${notebook_urls[@]}"
"$python" - "$url" "$user" "$password" <<'EOF'
import base64, json, sys, urllib.request
url, user, password = sys.argv[1:]
token = base64.b64encode(f"{user}:{password}".encode()).decode()
def get(path):
    request = urllib.request.Request(f"{url}/{path}", headers={"Authorization": f"Basic {token}"})
    with urllib.request.urlopen(request) as response:
        return json.load(response)
for module in ("data_stream_module", "data_array_module", "image_module", "data_notebook_module"):
    documents = get(module)["documents"]
    print(f"{module}: {len(documents)} document(s)")
    for document in documents:
        print(f"  {url}/{document['relative_url']}  {document['reference']!r}  {document['size']} bytes")
EOF

if [ "$keep" = true ]; then
  echo
  echo "wendelin-server keeps running at $url (pid $server_pid, user $user, password $password)."
  echo "Stop it with: kill $server_pid"
fi
