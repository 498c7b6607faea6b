# Follow job $JOB on $BASE with token $TOKEN to its end, with curl and jq (bash).
# Prints each event once, in order ("seq type percent message"), whatever the network does:
# a stream that sends no byte for two heartbeats is dead, and one that says no `ready` within
# 5 s is held back by a proxy (poll once instead); after either, or any error, it comes back
# with the last id it printed.
follow() {
  local last=0 ready quiet line name data body
  while :; do
    ready=0 quiet=5 name='' data=''
    while :; do
      IFS= read -r -t "$quiet" line || {
        [ $? -gt 128 ] && echo "stream: no byte for $quiet s; again from $last" >&2
        break
      }
      case $line in
        "event: "*) name=${line#event: } ;;
        "data: "*) data=${line#data: } ;;
        "")
          case $name in
            ready) ready=1 quiet=$(jq '2 * .heartbeat_s' <<<"$data") ;;
            ping | busy | closing) ;;
            *)
              if [ -n "$data" ] && [ "$(jq .seq <<<"$data")" -gt "$last" ]; then
                jq -r '"\(.seq) \(.type) \(.percent) \(.message)"' <<<"$data"
                last=$(jq .seq <<<"$data")
                [ "$name" = completion-status ] && return 0
              fi ;;
          esac
          name='' data='' ;;
      esac
    done < <(curl -sS -N --connect-timeout 5 -H "Authorization: Bearer $TOKEN" \
               -H 'Accept: text/event-stream' -H "Last-Event-ID: $last" \
               "$BASE/api/jobs/$JOB/events")
    kill "$!" 2>/dev/null  # a stalled stream: hang up
    if [ "$ready" = 0 ] && body=$(curl -sS -f --max-time 10 \
         -H "Authorization: Bearer $TOKEN" "$BASE/api/jobs/$JOB/status?since=$last"); then
      jq -r --argjson last "$last" \
         '.events[] | select(.seq > $last) | "\(.seq) \(.type) \(.percent) \(.message)"' <<<"$body"
      last=$(jq --argjson last "$last" '[$last, .events[].seq] | max' <<<"$body")
      [ "$(jq .next_poll_ms <<<"$body")" = null ] && return 0
    fi
    sleep 1
  done
}
