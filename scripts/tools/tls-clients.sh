#!/usr/bin/env bash
# openssl (test certificates, a real TLS server with `s_server`) and curl (a
# TLS 1.2-only client), from Debian; both are usually there already.
set -euo pipefail
if command -v openssl >/dev/null && command -v curl >/dev/null; then exit 0; fi
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openssl curl ca-certificates >/dev/null
