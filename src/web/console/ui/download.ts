/**
 * Offers `text` as a file the browser downloads (the credential report, the audit export, the
 * recovery codes): a link to an object URL, clicked from code and removed at once; the URL is
 * revoked after a while, so nothing is kept.
 */
export function saveFile(name: string, text: string, type: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
