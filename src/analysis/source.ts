// Bytes of a Python file → text, the way CPython reads source (PEP 263): a UTF-8 BOM, else a
// `coding:` cookie on line 1 or 2, else UTF-8. UTF-16 with a BOM is decoded too (editors write it;
// CPython itself refuses such a file, which the note says). Lone CR line ends (old Mac files,
// which CPython accepts) become LF: same length, so offsets and columns do not move.

export interface Decoded { text: string; decoded?: string }

const COOKIE = /^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)/;

export function decodePython(buf: Buffer): Decoded {
  let text: string, note: string | undefined;
  if (buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) {
    text = buf.subarray(3).toString('utf8');
    note = 'UTF-8 with BOM';
  } else if (buf.length >= 2 && ((buf[0] === 0xff && buf[1] === 0xfe) || (buf[0] === 0xfe && buf[1] === 0xff))) {
    const le = buf[0] === 0xff;
    text = new TextDecoder(le ? 'utf-16le' : 'utf-16be').decode(buf.subarray(2));
    note = `UTF-16 ${le ? 'LE' : 'BE'} with BOM (analysed; note that CPython only runs UTF-8 or PEP 263 encodings, so \`python\` refuses this file)`;
  } else {
    const head = buf.subarray(0, 400).toString('latin1').split(/\r\n|\r|\n/).slice(0, 2);
    const m = COOKIE.exec(head[0] ?? '') ?? (/^[ \t\f]*(#.*)?$/.test(head[0] ?? '') ? COOKIE.exec(head[1] ?? '') : null);
    const enc = m?.[1].toLowerCase().replace(/_/g, '-');
    if (enc && !/^utf-?8(-sig)?$/.test(enc)) {
      let decoder: InstanceType<typeof TextDecoder>;
      try { decoder = new TextDecoder(enc === 'latin-1' ? 'latin1' : enc); } catch {
        throw new Error(`unknown source encoding '${m![1]}' (PEP 263 coding cookie): Python cannot read this file either`);
      }
      text = decoder.decode(buf);
      note = `${m![1]} (PEP 263 coding cookie)`;
    } else {
      text = buf.toString('utf8');
    }
  }
  if (/\r(?!\n)/.test(text)) {
    text = text.replace(/\r(?!\n)/g, '\n');
    note = note ? `${note}; CR line ends` : 'CR line ends';
  }
  return { text, ...(note ? { decoded: note } : {}) };
}
