#!/usr/bin/env bash
# Installs the third-party servers the system tests (test/**/system*.test.ts) probe: Postfix
# (SMTP + STARTTLS), nginx (the MTA-STS policy over HTTPS), dnsmasq (DNS), the openssl
# command (a second, independent TLS server), and for DANE: NSD (authoritative DNS serving
# zones signed at test time), Unbound (a validating resolver) and ldnsutils (ldns-keygen,
# ldns-signzone); for mail flow and sender authentication: Dovecot (IMAP over TLS into a
# Maildir), OpenDKIM (an independent DKIM signer) and spf-tools-perl (spfquery, an independent
# SPF implementation to compare lookup counts with). The tests start private instances of them on
# 127.0.0.1 high ports; nothing here may leave a system-wide daemon running.
#
# Idempotent and non-interactive: when every binary is already present it does nothing,
# so CI can call it on every run. Debian/Ubuntu (apt) only; needs root (or sudo).
set -euo pipefail

# Package → a binary it provides. dnsmasq-base is the daemon without the Debian service
# (the `dnsmasq` package would add an init script that binds port 53 on every interface);
# `nginx` is the core package (nginx-light only adds modules the tests do not use).
declare -A BINARY_OF=(
  [postfix]=/usr/sbin/postfix
  [nginx]=/usr/sbin/nginx
  [dnsmasq-base]=/usr/sbin/dnsmasq
  [openssl]=/usr/bin/openssl
  [nsd]=/usr/sbin/nsd
  [unbound]=/usr/sbin/unbound
  [ldnsutils]=/usr/bin/ldns-signzone
  [dovecot-imapd]=/usr/sbin/dovecot
  [opendkim]=/usr/sbin/opendkim
  [opendkim-tools]=/usr/sbin/opendkim-genkey
  [spf-tools-perl]=/usr/bin/spfquery
)

missing=()
for pkg in "${!BINARY_OF[@]}"; do
  [[ -x "${BINARY_OF[$pkg]}" ]] || missing+=("$pkg")
done
if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-system-deps: every system test dependency is already installed"
  exit 0
fi

SUDO=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || {
    echo "install-system-deps: need root or sudo to install: ${missing[*]}" >&2
    exit 1
  }
  SUDO=(sudo)
fi
command -v apt-get >/dev/null || {
  echo "install-system-deps: apt-get not found; install by hand: ${missing[*]}" >&2
  exit 1
}

export DEBIAN_FRONTEND=noninteractive

# invoke-rc.d consults policy-rc.d: exit 101 forbids every service start during the install,
# so postfix and nginx never listen on public interfaces, not even for a moment. An existing
# policy (Docker images ship one) is left exactly as it was.
POLICY=/usr/sbin/policy-rc.d
created_policy=0
if [[ ! -e $POLICY ]]; then
  printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee "$POLICY" >/dev/null
  "${SUDO[@]}" chmod 755 "$POLICY"
  created_policy=1
fi
cleanup() {
  if [[ $created_policy -eq 1 ]]; then "${SUDO[@]}" rm -f "$POLICY"; fi
}
trap cleanup EXIT

# "No configuration": the package installs binaries only and writes no /etc/postfix/main.cf
# that could relay; the tests bring their own main.cf/master.cf in a temporary directory.
echo "postfix postfix/main_mailer_type select No configuration" | "${SUDO[@]}" debconf-set-selections

echo "install-system-deps: installing ${missing[*]}"
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"

# Belt and braces for systems where policy-rc.d is not honoured (systemd units enabled by
# deb-systemd-helper): stop and disable the packaged services if they run.
for service in postfix nginx nsd unbound dovecot opendkim; do
  if command -v systemctl >/dev/null && [[ -d /run/systemd/system ]]; then
    "${SUDO[@]}" systemctl disable --now "$service" >/dev/null 2>&1 || true
  elif command -v service >/dev/null; then
    "${SUDO[@]}" service "$service" stop >/dev/null 2>&1 || true
  fi
done

for pkg in "${!BINARY_OF[@]}"; do
  [[ -x "${BINARY_OF[$pkg]}" ]] || {
    echo "install-system-deps: $pkg installed but ${BINARY_OF[$pkg]} is missing" >&2
    exit 1
  }
done
echo "install-system-deps: done"
