#!/usr/bin/env bash
# openssl: TLS test material (a private CA, server certificates) and a real
# TLS server (`openssl s_server`), from Debian's package.
set -euo pipefail
if command -v openssl >/dev/null; then exit 0; fi
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openssl >/dev/null
