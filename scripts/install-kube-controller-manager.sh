#!/usr/bin/env bash
# Builds the real kube-controller-manager for the end-to-end Kubernetes test (issue 16,
# test/kube/mesh-e2e-apiserver.test.ts): with it, Deployments become ReplicaSets and Pods, and
# Services get EndpointSlices, by Kubernetes' own controllers instead of the test. Same approach
# as scripts/install-kube.sh (a wrapper module requiring k8s.io/kubernetes at the release, its
# v0.0.0 staging modules replaced by their published tags), in its own cache folder keyed by the
# version (~/.cache/wasmesh/kube-controller-manager-<k8s>/) so install-kube.sh's cache stays valid.
# The build shares most packages with kube-apiserver's, so after install-kube.sh it is a few
# minutes on 2 cores (nice'd: machines here are shared). Idempotent. Prints the cache directory
# on stdout; progress goes to stderr.
set -euo pipefail

k8s_version="1.34.4"
cache="${WASMESH_CACHE_DIR:-$HOME/.cache/wasmesh}/kube-controller-manager-$k8s_version"
staging_version="v0.${k8s_version#1.}"

if [ -x "$cache/kube-controller-manager" ]; then
  echo "$cache"
  exit 0
fi
command -v go >/dev/null 2>&1 || { echo "install-kube-controller-manager: Go is required" >&2; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$cache"
export GOFLAGS="-mod=mod -buildvcs=false"

echo "install-kube-controller-manager: building kube-controller-manager $k8s_version into $cache" >&2
mkdir -p "$work/k8s/cmd/kube-controller-manager"
cat > "$work/k8s/cmd/kube-controller-manager/main.go" <<'GO'
package main

import (
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/kubernetes/cmd/kube-controller-manager/app"
)

func main() { os.Exit(cli.Run(app.NewControllerManagerCommand())) }
GO
(
  cd "$work/k8s"
  go mod init wasmesh.test/kcm >&2 2>/dev/null
  go mod edit -require="k8s.io/kubernetes@v$k8s_version"
  modfile="$(go mod download -json "k8s.io/kubernetes@v$k8s_version" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
  [ -f "$modfile" ] || { echo "install-kube-controller-manager: could not download k8s.io/kubernetes@v$k8s_version's go.mod" >&2; exit 1; }
  staged="$(grep -E '^\s+k8s.io/[a-z0-9-]+ v0\.0\.0$' "$modfile" | awk '{print $1}')"
  [ -n "$staged" ] || { echo "install-kube-controller-manager: no v0.0.0 staging modules found in $modfile" >&2; exit 1; }
  for m in $staged; do go mod edit -replace="$m=$m@$staging_version"; done
  go mod tidy >&2
  ldflags="-X k8s.io/component-base/version.gitVersion=v$k8s_version -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$(echo "$k8s_version" | cut -d. -f2)"
  nice -n 10 go build -ldflags "$ldflags" -o "$cache/kube-controller-manager.tmp" ./cmd/kube-controller-manager >&2
  mv "$cache/kube-controller-manager.tmp" "$cache/kube-controller-manager"
)

echo "$cache"
