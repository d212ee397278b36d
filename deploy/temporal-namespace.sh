#!/bin/sh
# The namespace the api and the workers use, and the search attributes the
# checkout workflow sets (so a payment is found in the Web UI by merchant,
# customer, status or amount), through the operator API with the Temporal CLI.
# Safe to run again: what exists is kept; an attribute registered with another
# type fails the run.
#
# Run by docker-compose's temporal-setup job (admin-tools image) and by
# npm run start:cluster (stack/temporal-server.ts), once the server is up.
# Reads TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE (the CLI reads them too);
# TEMPORAL_CLI names the CLI when it is not on PATH as temporal.
set -eu
temporal="${TEMPORAL_CLI:-temporal}"
ns="${TEMPORAL_NAMESPACE:-default}"
export TEMPORAL_NAMESPACE="$ns"
# how long a closed checkout's history is kept
retention=72h
# name:type of each one; the list domain/search-attributes.ts declares
# (test/static/docker-compose.test.ts checks that they agree)
search_attributes="MerchantId:Keyword CustomerId:Keyword PaymentStatus:Keyword AmountCents:Int"

echo "temporal-namespace: waiting for Temporal at ${TEMPORAL_ADDRESS:-127.0.0.1:7233}"
tries=0
until "$temporal" operator cluster health >/dev/null 2>&1; do
  tries=$((tries + 1))
  if [ "$tries" -ge 120 ]; then
    echo "temporal-namespace: Temporal at ${TEMPORAL_ADDRESS:-127.0.0.1:7233} was not healthy within 2 minutes" >&2
    exit 1
  fi
  sleep 1
done

if "$temporal" operator namespace describe --namespace "$ns" >/dev/null 2>&1; then
  echo "temporal-namespace: namespace $ns exists"
else
  "$temporal" operator namespace create --namespace "$ns" --retention "$retention"
  echo "temporal-namespace: namespace $ns created (retention $retention)"
fi

registered() { # name, type
  "$temporal" operator search-attribute list --namespace "$ns" 2>/dev/null |
    grep -Eiq "(^|[[:space:]])$1[[:space:]]+(INDEXED_VALUE_TYPE_)?$2([[:space:]]|$)"
}
for entry in $search_attributes; do
  name="${entry%%:*}"
  type="${entry#*:}"
  tries=0
  # a namespace just created reaches every service's cache within seconds: retry until then
  until registered "$name" "$type"; do
    tries=$((tries + 1))
    if [ "$tries" -gt 30 ]; then
      echo "temporal-namespace: could not register $name as $type in namespace $ns (registered with another type?)" >&2
      exit 1
    fi
    "$temporal" operator search-attribute create --namespace "$ns" --name "$name" --type "$type" >/dev/null 2>&1 || sleep 1
  done
done
echo "temporal-namespace: search attributes registered in $ns: $search_attributes"
