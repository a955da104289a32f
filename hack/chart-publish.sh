#!/usr/bin/env bash
# Lints, packages and pushes the chart to an OCI registry, signed when a key
# is given; .github/workflows/chart.yml publishes every chart version with it,
# and the e2e test TestSignedChartIsVerified runs it against a registry.
#
#   hack/chart-publish.sh <chart folder> <oci://registry/path> <out folder>
#
# Signing, with Helm's own provenance (`helm package --sign`, pushed beside
# the chart by `helm push`, checked by `helm pull --verify` and by the
# program's deploy.chartKeyring):
#   CHART_SIGNING_KEY         the secret key, ASCII-armored (`gpg --export-secret-keys --armor <id>`);
#                             an RSA key: Helm 3's OpenPGP library reads no Ed25519 key
#   CHART_SIGNING_KEY_NAME    the key's name or email, as helm --key takes it
#   CHART_SIGNING_PASSPHRASE  its passphrase, when it has one
# A signed publish also writes <out>/<chart>-keyring.gpg, the public key that
# users pass as deploy.chartKeyring or `helm --keyring`.
# HELM names the helm binary (default: helm on PATH).
set -euo pipefail

usage() { sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; }
case ${1:-} in -h | --help) usage; exit 0 ;; esac
[ $# = 3 ] || { usage >&2; exit 2; }
chart=$1 dest=$2 out=$3
helm=${HELM:-helm}

"$helm" lint "$chart"
mkdir -p "$out"
name=$(sed -n 's/^name: *//p' "$chart/Chart.yaml")
version=$(sed -n 's/^version: *//p' "$chart/Chart.yaml")
sign=()
if [ -n "${CHART_SIGNING_KEY:-}" ]; then
	[ -n "${CHART_SIGNING_KEY_NAME:-}" ] || { echo "CHART_SIGNING_KEY is set without CHART_SIGNING_KEY_NAME, the key's name or email" >&2; exit 2; }
	GNUPGHOME=$(mktemp -d)
	export GNUPGHOME
	trap 'rm -rf "$GNUPGHOME"' EXIT
	gpg=(gpg --batch --quiet --pinentry-mode loopback)
	passphrase=$GNUPGHOME/passphrase
	printf '%s' "${CHART_SIGNING_PASSPHRASE:-}" >"$passphrase"
	[ -z "${CHART_SIGNING_PASSPHRASE:-}" ] || gpg+=(--passphrase-file "$passphrase")
	"${gpg[@]}" --import <<<"$CHART_SIGNING_KEY"
	# Helm reads keyrings in GnuPG's binary export format, not its keybox.
	"${gpg[@]}" --export-secret-keys "$CHART_SIGNING_KEY_NAME" >"$GNUPGHOME/secring.gpg"
	"${gpg[@]}" --export "$CHART_SIGNING_KEY_NAME" >"$out/$name-keyring.gpg"
	[ -s "$out/$name-keyring.gpg" ] || { echo "no key named $CHART_SIGNING_KEY_NAME in CHART_SIGNING_KEY" >&2; exit 1; }
	sign=(--sign --key "$CHART_SIGNING_KEY_NAME" --keyring "$GNUPGHOME/secring.gpg")
	[ -z "${CHART_SIGNING_PASSPHRASE:-}" ] || sign+=(--passphrase-file "$passphrase")
fi
"$helm" package "$chart" --destination "$out" "${sign[@]}"
archive=$out/$name-$version.tgz
if [ ${#sign[@]} -gt 0 ]; then
	"$helm" verify "$archive" --keyring "$out/$name-keyring.gpg"
fi
# helm push sends <archive>.prov along when it is there.
"$helm" push "$archive" "$dest"
