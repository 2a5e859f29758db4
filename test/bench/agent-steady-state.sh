#!/bin/sh
# Measures the node agent's memory and CPU: idle, then with N pods whose
# readiness probes run every 10 s. Runs `skiff server --disable-agent` and a
# separate `skiff agent` so the agent's process can be measured alone.
#
#   test/bench/agent-steady-state.sh [SKIFF_BIN] [PODS]
#
# Needs root, containerd, kubectl. Prints RSS (MiB) and CPU (% of one core
# over 60 s) for the agent and its managed containerd.
set -eu
BIN=${1:-bin/skiff}
PODS=${2:-100}
DIR=$(mktemp -d /tmp/skiff-agent-bench.XXXXXX)
BRIDGE=skbench$$
export KUBECONFIG=$DIR/server/admin.kubeconfig

cleanup() {
  kubectl delete deployment steady >/dev/null 2>&1 || true
  kubectl wait --for=delete pods -l app=steady --timeout=300s >/dev/null 2>&1 || true
  kill "$AGENT" "$SERVER" 2>/dev/null || true
  wait 2>/dev/null || true
  ip link delete "$BRIDGE" 2>/dev/null || true
  # The agent's node masquerade rule for the bridge (see internal/agent/network).
  iptables -t nat -S POSTROUTING | grep "skiff pod masquerade $BRIDGE\"" | sed 's/^-A //' |
    while read -r rule; do eval "iptables -t nat -D $rule"; done || true
}
trap cleanup EXIT

$BIN server --data-dir "$DIR/server" --https-listen-port 16500 --bind-address 127.0.0.1 \
  --disable-agent --cluster-cidr 10.236.0.0/16 >"$DIR/server.log" 2>&1 &
SERVER=$!
until kubectl get --raw /readyz >/dev/null 2>&1; do sleep 0.5; done
$BIN agent --server https://127.0.0.1:16500 --token-file "$DIR/server/server/token" \
  --data-dir "$DIR/agent" --node-name bench-node --cni-bridge "$BRIDGE" --port 0 >"$DIR/agent.log" 2>&1 &
AGENT=$!
until kubectl get node bench-node >/dev/null 2>&1; do sleep 0.5; done
kubectl wait --for=condition=Ready node/bench-node --timeout=120s >/dev/null

rss() { awk '/VmRSS/ {printf "%.0f", $2/1024}' "/proc/$1/status"; }
ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
containerd_pid() { pgrep -f "containerd --config $DIR/agent/containerd/config.toml" | head -1; }
cpu() { # percent of one core used by pid $1 over $2 seconds
  a=$(ticks "$1"); sleep "$2"; b=$(ticks "$1")
  echo "$a $b $2 $(getconf CLK_TCK)" | awk '{printf "%.1f", ($2-$1)/$4/$3*100}'
}

sleep 30
CTD=$(containerd_pid)
echo "idle:      agent RSS $(rss $AGENT) MiB, CPU $(cpu $AGENT 60)%; containerd RSS $(rss $CTD) MiB"

kubectl create deployment steady --image=skiff.local/busybox:stable --replicas="$PODS" \
  --dry-run=client -o json -- sh -c 'mkdir /www; echo ok > /www/index.html; exec httpd -f -p 8080 -h /www' |
python3 -c '
import json, sys
d = json.load(sys.stdin)
c = d["spec"]["template"]["spec"]["containers"][0]
c["readinessProbe"] = {"httpGet": {"path": "/", "port": 8080}, "periodSeconds": 10}
d["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = 1
print(json.dumps(d))' | kubectl apply -f - >/dev/null
kubectl rollout status deployment/steady --timeout=600s >/dev/null
sleep 30
echo "$PODS pods:  agent RSS $(rss $AGENT) MiB, CPU $(cpu $AGENT 60)%; containerd RSS $(rss $CTD) MiB, CPU $(cpu $CTD 60)%"
