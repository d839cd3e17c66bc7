#!/usr/bin/env bash
# Builds the real Kubernetes control-plane binaries the Kubernetes tests run against (issue 16):
# kube-apiserver and kubectl from k8s.io/kubernetes, etcd from go.etcd.io/etcd/server, all from the
# Go module proxy, into a cache outside the repository keyed by their versions
# (~/.cache/wasmesh/kube-<k8s>-etcd-<etcd>/), so a machine builds them once (about 12 minutes on
# 2 cores the first time, then instant; .ci/run calls it, so the first CI run on a fresh machine
# spends those minutes and later runs reuse the cache). Idempotent. Prints the cache directory on stdout (it holds
# kube-apiserver, kubectl and etcd); progress goes to stderr.
#
# k8s.io/kubernetes is not meant to be imported: its go.mod requires its 29 staging modules
# (k8s.io/api, k8s.io/apiserver, …) at v0.0.0 and replaces them with ./staging paths. A wrapper
# module requires k8s.io/kubernetes at the release and replaces each of those v0.0.0 modules with
# the same module at the matching v0.<minor>.<patch> tag, which the staging repositories publish.
set -euo pipefail

k8s_version="1.34.4"
etcd_version="3.6.16"
cache="${WASMESH_CACHE_DIR:-$HOME/.cache/wasmesh}/kube-$k8s_version-etcd-$etcd_version"
staging_version="v0.${k8s_version#1.}"

if [ -x "$cache/kube-apiserver" ] && [ -x "$cache/kubectl" ] && [ -x "$cache/etcd" ]; then
  echo "$cache"
  exit 0
fi
command -v go >/dev/null 2>&1 || { echo "install-kube: Go is required to build kube-apiserver and etcd" >&2; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$cache"
export GOFLAGS="-mod=mod -buildvcs=false"

# ---- kube-apiserver + kubectl ------------------------------------------------------------------
echo "install-kube: building kube-apiserver and kubectl $k8s_version into $cache (about 10 minutes the first time)" >&2
mkdir -p "$work/k8s/cmd/kube-apiserver" "$work/k8s/cmd/kubectl"
cat > "$work/k8s/cmd/kube-apiserver/main.go" <<'EOF'
package main

import (
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

func main() { os.Exit(cli.Run(app.NewAPIServerCommand())) }
EOF
cat > "$work/k8s/cmd/kubectl/main.go" <<'EOF'
package main

import (
	"k8s.io/component-base/cli"
	"k8s.io/kubectl/pkg/cmd"
	"k8s.io/kubectl/pkg/cmd/util"
)

func main() {
	command := cmd.NewDefaultKubectlCommand()
	if err := cli.RunNoErrOutput(command); err != nil {
		util.CheckErr(err)
	}
}
EOF
(
  cd "$work/k8s"
  go mod init wasmesh.test/kube >&2 2>/dev/null
  go mod edit -require="k8s.io/kubernetes@v$k8s_version"
  modfile="$(go mod download -json "k8s.io/kubernetes@v$k8s_version" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
  [ -f "$modfile" ] || { echo "install-kube: could not download k8s.io/kubernetes@v$k8s_version's go.mod" >&2; exit 1; }
  staged="$(grep -E '^\s+k8s.io/[a-z0-9-]+ v0\.0\.0$' "$modfile" | awk '{print $1}')"
  [ -n "$staged" ] || { echo "install-kube: no v0.0.0 staging modules found in $modfile" >&2; exit 1; }
  for m in $staged; do go mod edit -replace="$m=$m@$staging_version"; done
  go mod tidy >&2
  # The version the binaries report (/version, kubectl version), as the release build stamps it.
  ldflags="-X k8s.io/component-base/version.gitVersion=v$k8s_version -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$(echo "$k8s_version" | cut -d. -f2) -X k8s.io/client-go/pkg/version.gitVersion=v$k8s_version"
  go build -ldflags "$ldflags" -o "$cache/kube-apiserver" ./cmd/kube-apiserver >&2
  go build -ldflags "$ldflags" -o "$cache/kubectl" ./cmd/kubectl >&2
)

# ---- etcd --------------------------------------------------------------------------------------
echo "install-kube: building etcd $etcd_version (about 2 minutes the first time)" >&2
mkdir -p "$work/etcd"
cat > "$work/etcd/main.go" <<'EOF'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
EOF
(
  cd "$work/etcd"
  go mod init wasmesh.test/etcd >&2 2>/dev/null
  go mod edit -require="go.etcd.io/etcd/server/v3@v$etcd_version"
  go mod tidy >&2
  go build -ldflags "-X go.etcd.io/etcd/api/v3/version.GitSHA=v$etcd_version" -o "$cache/etcd" . >&2
)

echo "$cache"
