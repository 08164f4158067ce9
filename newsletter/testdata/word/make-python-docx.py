# Writes newsletter-no54-python-docx.docx from examples/newsletter-no54.md
# with python-docx (Debian python3-docx 0.8.11): each Markdown line a
# paragraph; section headings Heading 1, item titles Heading 2, the
# masthead title Title; [label](url) links as real hyperlinks; **bold**
# runs; the picture of no55 inserted after the first item's first paragraph.
import re, sys
import docx
from docx.oxml.shared import OxmlElement, qn
from docx.opc.constants import RELATIONSHIP_TYPE as RT

src, out, png = sys.argv[1], sys.argv[2], sys.argv[3]
lines = [l.strip() for l in open(src, encoding='utf-8').read().split('\n') if l.strip()]
d = docx.Document()

def add_link(p, url, text):
    rid = p.part.relate_to(url, RT.HYPERLINK, is_external=True)
    h = OxmlElement('w:hyperlink'); h.set(qn('r:id'), rid)
    r = OxmlElement('w:r'); rpr = OxmlElement('w:rPr'); st = OxmlElement('w:rStyle'); st.set(qn('w:val'), 'Hyperlink'); rpr.append(st); r.append(rpr)
    t = OxmlElement('w:t'); t.text = text; t.set(qn('xml:space'), 'preserve'); r.append(t); h.append(r); p._p.append(h)

tok = re.compile(r'\[((?:\\.|[^\]\\])*)\]\(([^)]*)\)|\*\*([^*]+)\*\*|\*([^*]+)\*')
def fill(p, s):
    pos = 0
    for m in tok.finditer(s):
        if m.start() > pos: p.add_run(s[pos:m.start()].replace('\\', ''))
        if m.group(2) is not None:
            label = m.group(1).replace('\\', '')
            if m.group(2) in ('#', ''):
                p.add_run(label)
            else:
                add_link(p, m.group(2), label)
        elif m.group(3): p.add_run(m.group(3)).bold = True
        else: p.add_run(m.group(4)).italic = True
        pos = m.end()
    if pos < len(s): p.add_run(s[pos:].replace('\\', ''))

heads = set()
seen = {}
for l in lines: seen[l] = seen.get(l, 0) + 1
pic = False
for i, l in enumerate(lines):
    if l.startswith('立方网络安全与数据合规周报'):
        d.add_paragraph(l, style='Title'); continue
    if re.match(r'^[\u4e00-\u9fff]+ [A-Z][A-Za-z &]+$', l):
        if l in heads: d.add_paragraph(l, style='Heading 1')
        else: d.add_paragraph(l, style='Heading 2'); heads.add(l)
        continue
    p = d.add_paragraph()
    fill(p, l)
    if not pic and l.startswith('2021年'):
        d.add_picture(png); pic = True
d.save(out)
