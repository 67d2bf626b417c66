#!/bin/sh
# Writes COUNT Markdown documents into DIR, each with three runnable blocks that fetch the mock's
# https://api.example.com/data: two JavaScript (await and .then) and one Python (asyncio +
# aiohttp). All three return the same document, so every group passes.
#
#   benches/load/make-docs.sh DIR [COUNT]     (COUNT defaults to 200)
set -eu
if [ $# -lt 1 ] || [ $# -gt 2 ]; then
    echo "usage: $0 DIR [COUNT]" >&2
    exit 2
fi
dir=$1
count=${2:-200}
case $count in
    ''|*[!0-9]*) echo "$0: COUNT must be a whole number, got '$count'" >&2; exit 2 ;;
esac
mkdir -p "$dir"
i=1
while [ "$i" -le "$count" ]; do
    cat > "$dir/page-$(printf %03d "$i").md" <<DOC
# Load page $i

The same request three ways.

\`\`\`javascript
async function fetchData() {
    const response = await fetch('https://api.example.com/data');
    return await response.json();
}
fetchData().then(data => console.log(data));
\`\`\`

\`\`\`js
fetch('https://api.example.com/data')
    .then(response => response.json())
    .then(data => console.log(data));
\`\`\`

\`\`\`python
import asyncio
import aiohttp

async def fetch_data():
    async with aiohttp.ClientSession() as session:
        async with session.get('https://api.example.com/data') as response:
            return await response.json()

asyncio.run(fetch_data())
\`\`\`
DOC
    i=$((i + 1))
done
echo "wrote $count documents to $dir"
