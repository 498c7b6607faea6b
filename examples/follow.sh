# Follow job $JOB on $BASE with token $TOKEN to its end, with curl and jq (bash).
# Prints each event once, in order, as one line of JSON, whatever the network does: a stream
# that sends no byte for two heartbeats is dead, and one that says no `ready` within 5 s is
# held back by a proxy (poll once instead); after either, or any error, it comes back with the
# last id it printed. Each event is read by bash alone: a catch-up of hundreds is quick.
follow() {
  local last=0 ready quiet line name id data body
  while :; do
    ready=0 quiet=5 name='' id='' data=''
    while :; do
      IFS= read -r -t "$quiet" line || {
        [ $? -gt 128 ] && echo "stream: no byte for $quiet s; again from $last" >&2
        break
      }
      case $line in
        "event: "*) name=${line#event: } ;;
        "id: "*) id=${line#id: } ;;
        "data: "*) data=${line#data: } ;;
        "")
          case $name in
            ready) ready=1 quiet=$(jq '2 * .heartbeat_s' <<<"$data") ;;
            ping | busy | closing) ;;
            *)
              if [ -n "$data" ] && [ "${id:-0}" -gt "$last" ]; then
                printf '%s\n' "$data"
                last=$id
                [ "$name" = completion-status ] && return 0
              fi ;;
          esac
          name='' id='' data='' ;;
      esac
    done < <(curl -sS -N --connect-timeout 5 -H "Authorization: Bearer $TOKEN" \
               -H 'Accept: text/event-stream' -H "Last-Event-ID: $last" \
               "$BASE/api/jobs/$JOB/events")
    kill "$!" 2>/dev/null  # a stalled stream: hang up
    if [ "$ready" = 0 ] && body=$(curl -sS -f --max-time 10 \
         -H "Authorization: Bearer $TOKEN" "$BASE/api/jobs/$JOB/status?since=$last"); then
      jq -c --argjson last "$last" '.events[] | select(.seq > $last)' <<<"$body"
      last=$(jq --argjson last "$last" '[$last, .events[].seq] | max' <<<"$body")
      [ "$(jq .next_poll_ms <<<"$body")" = null ] && return 0
    fi
    sleep 1
  done
}
