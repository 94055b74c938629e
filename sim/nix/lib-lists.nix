# List helpers of the lib stand-in (lib.lists.*, also re-exported at top level).
{ b }:
rec {
  inherit (b) head tail length elem elemAt filter map concatLists concatMap genList all any sort partition groupBy foldl';
  toList = x: if b.isList x then x else [ x ];
  singleton = x: [ x ];
  optional = cond: x: if cond then [ x ] else [ ];
  optionals = cond: l: if cond then l else [ ];
  last = l: b.elemAt l (b.length l - 1);
  init = l: b.genList (i: b.elemAt l i) (b.length l - 1);
  foldr = op: nul: l:
    let
      n = b.length l;
      go = i: if i == n then nul else op (b.elemAt l i) (go (i + 1));
    in
    go 0;
  foldl = op: nul: l: b.foldl' op nul l;
  fold = foldr;
  flatten = x: if b.isList x then b.concatMap flatten x else [ x ];
  unique = b.foldl' (acc: x: if b.elem x acc then acc else acc ++ [ x ]) [ ];
  range = first: last: if first > last then [ ] else b.genList (i: first + i) (last - first + 1);
  replicate = n: x: b.genList (_: x) n;
  imap0 = f: l: b.genList (i: f i (b.elemAt l i)) (b.length l);
  imap1 = f: l: b.genList (i: f (i + 1) (b.elemAt l i)) (b.length l);
  forEach = l: f: map f l;
  count = pred: l: b.length (b.filter pred l);
  zipListsWith = f: xs: ys:
    b.genList (i: f (b.elemAt xs i) (b.elemAt ys i)) (if b.length xs < b.length ys then b.length xs else b.length ys);
  zipLists = zipListsWith (fst: snd: { inherit fst snd; });
  reverseList = l: let n = b.length l; in b.genList (i: b.elemAt l (n - i - 1)) n;
  take = n: l: b.genList (i: b.elemAt l i) (if n < b.length l then n else b.length l);
  drop = n: l: let len = b.length l; in if n >= len then [ ] else b.genList (i: b.elemAt l (i + n)) (len - n);
  sublist = start: n: l: take n (drop start l);
  remove = x: b.filter (y: y != x);
  subtractLists = e: b.filter (x: !(b.elem x e));
  intersectLists = e: b.filter (x: b.elem x e);
  findFirst = pred: default: l:
    let found = b.filter pred l; in if found == [ ] then default else b.head found;
  findSingle = pred: default: multiple: l:
    let found = b.filter pred l; n = b.length found; in
    if n == 0 then default else if n == 1 then b.head found else multiple;
  sortOn = f: b.sort (a: c: f a < f c);
  allUnique = l: b.length (unique l) == b.length l;
  ifilter0 = pred: l: map (p: p.v) (b.filter (p: pred p.i p.v) (imap0 (i: v: { inherit i v; }) l));
}
