import nbformat, re, sys
def build(cells, path):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    out = []
    for c in cells:
        kind, src = c[0], c[1].strip("\n")
        tags = c[2] if len(c) > 2 else []
        cell = nbformat.v4.new_markdown_cell(src) if kind == "md" else nbformat.v4.new_code_cell(src)
        if tags:
            cell.metadata["tags"] = list(tags)
        out.append(cell)
    nb.cells = out
    for i, c in enumerate(nb.cells):
        c["id"] = f"c{i:03d}"
    nbformat.validate(nb)
    nbformat.write(nb, path)
INSTALL = '''# Colab / a fresh environment: install the course package when it is not importable.
try:
    import attnbook
except ImportError:
    %pip install --quiet "attnbook @ git+https://github.com/attnbook/attention-course"
    import attnbook'''
