"""Stores a .ipynb file on the Data Notebook with a given reference, so that
a saved notebook lives on the server beside the record of its executions.

The reference defaults to the one the notebook itself sets with
`%notebook_set_reference` (the Data Notebook its cells were recorded in),
else to the file's name without `.ipynb`.

The Data Notebook is found through the catalog search and created when it
does not exist yet; the file is stored with a PUT of the whole content
(docs/http-contract.md, "Stored .ipynb"). Prints the notebook's URL.

    python scripts/store_notebook.py executed/tutorial.ipynb \
        --url http://127.0.0.1:8080/erp5 --user zope --password insecure
"""

import argparse
import base64
import json
import pathlib
import sys
import urllib.error
import urllib.parse
import urllib.request


class Portal:
    def __init__(self, url, user, password):
        self.url = url.rstrip("/")
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        self.authorization = f"Basic {token}"

    def request(self, method, path, body=None, content_type=None):
        request = urllib.request.Request(f"{self.url}/{path}", data=body, method=method)
        request.add_header("Authorization", self.authorization)
        if content_type:
            request.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.read()
        except urllib.error.HTTPError as error:
            detail = error.read().decode(errors="replace").strip()
            sys.exit(f"{method} {self.url}/{path} answered HTTP {error.code}: {detail}")
        except urllib.error.URLError as error:
            sys.exit(f"cannot reach {self.url}: {error.reason}; is wendelin-server running?")

    def find_notebook(self, reference):
        query = f'portal_type:"Data Notebook" AND reference:"{reference}"'
        path = "ERP5Document_getHateoas?mode=search&" + urllib.parse.urlencode({"query": query})
        contents = json.loads(self.request("GET", path))["_embedded"]["contents"]
        if not contents:
            return None
        return contents[0]["_links"]["self"]["href"].removeprefix("urn:jio:get:")

    def create_notebook(self, reference, title):
        fields = {"portal_type": "Data Notebook", "reference": reference, "title": title}
        body = json.dumps(fields).encode()
        created = json.loads(self.request("POST", "data_notebook_module/newContent", body, "application/json"))
        return created["relative_url"]


def recorded_reference(notebook):
    """The reference of the last `%notebook_set_reference` magic in the
    notebook's code cells, or None."""
    found = None
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        lines = source.splitlines() if isinstance(source, str) else "".join(source).splitlines()
        for line in lines:
            words = line.split()
            if len(words) >= 2 and words[0] == "%notebook_set_reference":
                found = words[1]
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook", type=pathlib.Path)
    parser.add_argument("--reference", help="the Data Notebook's reference (default: see above)")
    parser.add_argument("--title", help="title when the Data Notebook is created (default: the reference)")
    parser.add_argument("--url", default="http://127.0.0.1:8080/erp5")
    parser.add_argument("--user", default="zope")
    parser.add_argument("--password", default="insecure")
    arguments = parser.parse_args()

    content = arguments.notebook.read_bytes()
    try:
        notebook = json.loads(content)
    except ValueError as error:
        sys.exit(f"{arguments.notebook} is not a notebook file (not JSON: {error})")
    reference = arguments.reference or recorded_reference(notebook) or arguments.notebook.stem

    portal = Portal(arguments.url, arguments.user, arguments.password)
    relative_url = portal.find_notebook(reference)
    if relative_url is None:
        relative_url = portal.create_notebook(reference, arguments.title or reference)
    portal.request("PUT", relative_url, content, "application/x-ipynb+json")
    print(f"{portal.url}/{relative_url}")


if __name__ == "__main__":
    main()
