#!/usr/bin/env bash
# Post FILE as the pull request's comment for one stack, updated in place:
# each stack's comment starts with its own marker, so the staging and prod
# previews never overwrite each other and a new push edits, not adds.
#   hack/pr-comment.sh <stack> <pr-number> <file>    (needs gh and GH_TOKEN)
set -euo pipefail

if [ $# -ne 3 ]; then
	echo "usage: $0 <stack> <pr-number> <file>" >&2
	exit 2
fi
stack=$1 pr=$2 file=$3
marker="<!-- rhesis-preview-$stack -->"
body=$(mktemp)
trap 'rm -f "$body"' EXIT
{ echo "$marker"; cat "$file"; } >"$body"

id=$(gh api --paginate "repos/{owner}/{repo}/issues/$pr/comments" \
	--jq ".[] | select(.body | startswith(\"$marker\")) | .id" | head -n 1)
if [ -n "$id" ]; then
	gh api --method PATCH "repos/{owner}/{repo}/issues/comments/$id" -F "body=@$body" >/dev/null
	echo "updated the $stack comment ($id) on #$pr"
else
	gh api --method POST "repos/{owner}/{repo}/issues/$pr/comments" -F "body=@$body" >/dev/null
	echo "added the $stack comment on #$pr"
fi
