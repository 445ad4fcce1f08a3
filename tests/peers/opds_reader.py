#!/usr/bin/python3
"""An OPDS reader as e-reader apps are: feedparser walking zatan's catalog.

Usage: opds_reader.py ROOT_URL USER PASSWORD QUERY

From the navigation feed at ROOT_URL it follows the "newest" entry to the
acquisition feed and its rel="next" pages, reads every entry, downloads the
first entry's EPUB, then does one search through the OpenSearch description.
Prints what it found as one JSON object on stdout.
"""

import base64
import hashlib
import json
import sys
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

import feedparser

ROOT, USER, PASSWORD, QUERY = sys.argv[1:5]
AUTH = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()


def fetch(url, auth=True):
    request = urllib.request.Request(url, headers={"Authorization": AUTH} if auth else {})
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def feed(url):
    status, headers, body = fetch(url)
    assert status == 200, f"{url}: {status}"
    parsed = feedparser.parse(body, response_headers={"content-location": url, "content-type": headers.get("Content-Type", "")})
    assert not parsed.bozo, f"{url}: {parsed.bozo_exception}"
    return headers, parsed


def link(links, rel, base):
    for candidate in links:
        if candidate.get("rel") == rel:
            return urllib.parse.urljoin(base, candidate["href"])
    return None


result = {}
result["unauthorized"] = fetch(ROOT, auth=False)[0]
headers, root = feed(ROOT)
result["root_type"] = headers.get("Content-Type")
result["root_entries"] = [e.title for e in root.entries]
newest = None
for entry in root.entries:
    newest = newest or link(entry.links, "http://opds-spec.org/sort/new", ROOT)

pages, titles, types, covers, languages, authors = 0, [], set(), 0, set(), set()
first_epub = None
url, seen = newest, set()
while url and url not in seen and pages < 50:
    seen.add(url)
    headers, page = feed(url)
    result["acquisition_type"] = headers.get("Content-Type")
    pages += 1
    for entry in page.entries:
        titles.append(entry.title)
        authors.add(entry.get("author", ""))
        # OPDS 1.2 puts dc:language in the DCMI terms namespace: feedparser calls it dcterms_
        languages.add(entry.get("dcterms_language", entry.get("dc_language", "")))
        for l in entry.links:
            if l.get("rel") == "http://opds-spec.org/acquisition":
                types.add(l.get("type"))
                if first_epub is None and l.get("type") == "application/epub+zip":
                    first_epub = (entry.title, urllib.parse.urljoin(url, l["href"]))
            if l.get("rel") == "http://opds-spec.org/image/thumbnail":
                covers += 1
    url = link(page.feed.links, "next", url)
result.update(pages=pages, titles=titles, types=sorted(types), covers=covers,
              languages=sorted(languages), authors=sorted(authors))

if first_epub:
    status, headers, body = fetch(first_epub[1])
    result["download"] = {"title": first_epub[0], "status": status, "type": headers.get("Content-Type"),
                          "bytes": len(body), "sha256": hashlib.sha256(body).hexdigest()}

search = link(root.feed.links, "search", ROOT)
status, headers, body = fetch(search)
result["opensearch_type"] = headers.get("Content-Type")
template = None
for element in ET.fromstring(body).iter():
    if element.tag.endswith("Url") and "atom+xml" in element.get("type", ""):
        template = element.get("template")
result["template"] = template
_, found = feed(template.replace("{searchTerms}", urllib.parse.quote(QUERY)))
result["search"] = [e.title for e in found.entries]

print(json.dumps(result, ensure_ascii=False))
