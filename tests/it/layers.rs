//! The module layering of `src/`, held to the `## Layers` table of docs/architecture.md.
//!
//! Top-level modules: each sits in exactly one layer of the table (rows go from the bottom
//! layer to the top one); a module reaches only its own layer and the ones below, and no circle
//! joins top-level modules. A reach is a `crate::NAME` path anywhere in a file, in code,
//! comments and doc comments alike (string and char literals never count), or a `super::` path
//! that climbs out of the file's top-level module. `lib.rs` and `main.rs` are exempt.
//!
//! Files of one top-level module: they do not loop (`a.rs` reaches `b.rs` reaches `a.rs`,
//! through `crate::`, `super::` or `self::` paths in code), unless one file of the loop says
//! why in a `//! Tied to `other.rs`: …` line naming the other files of the loop; at most four
//! loops in the whole crate.
//!
//! The scanner is hand-written: a small Rust lexer (comments, strings, raw strings, chars,
//! lifetimes), then paths and `use` trees read from its tokens, with inline `mod name { … }`
//! blocks tracked so that `super::` and `self::` mean what they mean to the compiler.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

/// Loops between files of one folder allowed in the whole crate, each with its `Tied to` line.
const MAX_FILE_LOOPS: usize = 4;
/// Places (`file:line`) shown for each edge of a circle between top-level modules.
const PLACES_PER_MODULE_EDGE: usize = 3;
/// Places shown for each edge of a loop between files.
const PLACES_PER_FILE_EDGE: usize = 1;

// ---------------------------------------------------------------------------------------------
// Lexer

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    /// `::`
    Sep,
    Punct(u8),
    /// A string, byte string, raw string, C string, char or byte literal: its text never counts.
    Lit,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    line: usize,
}

/// A `//…` or `/*…*/` comment, doc comments included.
#[derive(Debug)]
struct Comment {
    text: String,
    line: usize,
    /// Index of the first code token after the comment.
    before: usize,
}

#[derive(Debug, Default)]
struct Lexed {
    code: Vec<Token>,
    comments: Vec<Comment>,
}

struct Lexer<'s> {
    src: &'s [u8],
    pos: usize,
    line: usize,
    out: Lexed,
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Length of the UTF-8 character whose first byte is `b`.
fn utf8_len(b: u8) -> usize {
    match b {
        0xF0..=0xF7 => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

impl<'s> Lexer<'s> {
    fn lex(src: &'s str) -> Lexed {
        let mut lexer = Lexer {
            src: src.as_bytes(),
            pos: 0,
            line: 1,
            out: Lexed::default(),
        };
        lexer.run();
        lexer.out
    }

    fn peek(&self, ahead: usize) -> u8 {
        self.src.get(self.pos + ahead).copied().unwrap_or(0)
    }

    fn at_end(&self) -> bool {
        self.pos >= self.src.len()
    }

    /// Steps over one byte, counting lines.
    fn bump(&mut self) {
        if self.peek(0) == b'\n' {
            self.line += 1;
        }
        self.pos += 1;
    }

    fn push(&mut self, tok: Tok, line: usize) {
        self.out.code.push(Token { tok, line });
    }

    fn run(&mut self) {
        while !self.at_end() {
            let (c, line) = (self.peek(0), self.line);
            match c {
                b'/' if self.peek(1) == b'/' => self.line_comment(),
                b'/' if self.peek(1) == b'*' => self.block_comment(),
                b'"' => {
                    self.quoted();
                    self.push(Tok::Lit, line);
                }
                b'\'' => self.quote_or_lifetime(),
                b':' if self.peek(1) == b':' => {
                    self.pos += 2;
                    self.push(Tok::Sep, line);
                }
                c if is_ident_byte(c) => self.word(),
                c if c.is_ascii_whitespace() => self.bump(),
                c => {
                    self.pos += 1;
                    self.push(Tok::Punct(c), line);
                }
            }
        }
    }

    fn comment_from(&mut self, start: usize, line: usize) {
        let text = String::from_utf8_lossy(&self.src[start..self.pos]).into_owned();
        let before = self.out.code.len();
        self.out.comments.push(Comment { text, line, before });
    }

    fn line_comment(&mut self) {
        let (start, line) = (self.pos, self.line);
        while !self.at_end() && self.peek(0) != b'\n' {
            self.pos += 1;
        }
        self.comment_from(start, line);
    }

    /// `/* … */`, nested ones included.
    fn block_comment(&mut self) {
        let (start, line) = (self.pos, self.line);
        let mut depth = 0usize;
        while !self.at_end() {
            if self.peek(0) == b'/' && self.peek(1) == b'*' {
                depth += 1;
                self.pos += 2;
            } else if self.peek(0) == b'*' && self.peek(1) == b'/' {
                depth -= 1;
                self.pos += 2;
                if depth == 0 {
                    break;
                }
            } else {
                self.bump();
            }
        }
        self.comment_from(start, line);
    }

    /// A `"…"` string with escapes; starts on the opening quote.
    fn quoted(&mut self) {
        self.pos += 1;
        while !self.at_end() {
            match self.peek(0) {
                b'\\' => {
                    self.bump();
                    self.bump();
                }
                b'"' => {
                    self.pos += 1;
                    return;
                }
                _ => self.bump(),
            }
        }
    }

    /// Hashes of a raw string starting here (`#…#"`), or `None` when no raw string starts here.
    fn raw_hashes(&self) -> Option<usize> {
        let hashes = (0..).take_while(|&k| self.peek(k) == b'#').count();
        (self.peek(hashes) == b'"').then_some(hashes)
    }

    /// `#…#"…"#…#` after the `r`, `br` or `cr` prefix.
    fn raw_string(&mut self, hashes: usize) {
        self.pos += hashes + 1;
        while !self.at_end() {
            if self.peek(0) == b'"' && (1..=hashes).all(|k| self.peek(k) == b'#') {
                self.pos += hashes + 1;
                return;
            }
            self.bump();
        }
    }

    /// A char or byte literal starting on its opening quote.
    fn char_literal(&mut self) {
        self.pos += 1;
        if self.peek(0) == b'\\' {
            self.bump();
            self.bump();
        } else {
            self.pos += utf8_len(self.peek(0));
        }
        while !self.at_end() && self.peek(0) != b'\'' {
            self.bump();
        }
        self.pos += 1;
    }

    /// `'x'`, `'\n'` or `'→'` is a literal; `'a` (no closing quote right after) is a lifetime.
    fn quote_or_lifetime(&mut self) {
        let line = self.line;
        let next = self.peek(1);
        if next == b'\\' || (next != b'\n' && self.peek(1 + utf8_len(next)) == b'\'') {
            self.char_literal();
            self.push(Tok::Lit, line);
        } else {
            self.pos += 1;
            self.push(Tok::Punct(b'\''), line);
        }
    }

    /// An identifier, keyword or number, or the prefix of a literal (`b"`, `r#"`, `b'`).
    fn word(&mut self) {
        let (start, line) = (self.pos, self.line);
        while is_ident_byte(self.peek(0)) {
            self.pos += 1;
        }
        let word = String::from_utf8_lossy(&self.src[start..self.pos]).into_owned();
        let next = self.peek(0);
        match word.as_str() {
            "r" | "br" | "cr" if self.raw_hashes().is_some() => {
                let hashes = self.raw_hashes().unwrap_or(0);
                self.raw_string(hashes);
                self.push(Tok::Lit, line);
            }
            "r" if next == b'#' && is_ident_byte(self.peek(1)) => {
                self.pos += 1;
                self.word();
            }
            "b" | "c" if next == b'"' => {
                self.quoted();
                self.push(Tok::Lit, line);
            }
            "b" if next == b'\'' => {
                self.char_literal();
                self.push(Tok::Lit, line);
            }
            _ => self.push(Tok::Ident(word), line),
        }
    }
}

/// Tokens of a comment's text: words, `::`, and every other character as punctuation (prose
/// has apostrophes and unpaired quotes, so nothing in it is read as a literal).
fn comment_tokens(text: &str, first_line: usize) -> Vec<Token> {
    let bytes = text.as_bytes();
    let (mut pos, mut line, mut out) = (0, first_line, Vec::new());
    while pos < bytes.len() {
        let c = bytes[pos];
        if is_ident_byte(c) {
            let start = pos;
            while pos < bytes.len() && is_ident_byte(bytes[pos]) {
                pos += 1;
            }
            let word = String::from_utf8_lossy(&bytes[start..pos]).into_owned();
            out.push(Token {
                tok: Tok::Ident(word),
                line,
            });
            continue;
        }
        let tok = if c == b':' && bytes.get(pos + 1) == Some(&b':') {
            pos += 1;
            Some(Tok::Sep)
        } else {
            (!c.is_ascii_whitespace()).then_some(Tok::Punct(c))
        };
        if let Some(tok) = tok {
            out.push(Token { tok, line });
        }
        line += usize::from(c == b'\n');
        pos += 1;
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Paths

/// One path that starts with `crate`, `super` or `self`.
#[derive(Debug, Clone, PartialEq)]
struct PathRef {
    /// As written; a leaf of a `use` group spelled out in full: `crate::run::Options`.
    text: String,
    line: usize,
    in_comment: bool,
    /// What it names, from the crate root (`["run", "Options"]`); `None` when it climbs above
    /// the crate root.
    target: Option<Vec<String>>,
}

/// What the scanner reads from one file.
#[derive(Debug, Default)]
struct Scanned {
    paths: Vec<PathRef>,
    /// `//!` lines: line number and the text after `//!`.
    inner_docs: Vec<(usize, String)>,
}

/// A path, or one leaf of a `use` tree: its segments and the line of its last one.
struct Leaf {
    segs: Vec<String>,
    line: usize,
}

fn tok_at(code: &[Token], i: usize) -> Option<&Tok> {
    code.get(i).map(|t| &t.tok)
}

fn is_ident(code: &[Token], i: usize, word: &str) -> bool {
    matches!(tok_at(code, i), Some(Tok::Ident(w)) if w == word)
}

/// `crate::`, `super::` or `self::` begins a path at `i` (not `$crate::`, not `a::self::`).
fn path_starts(code: &[Token], i: usize) -> bool {
    let head = ["crate", "super", "self"]
        .iter()
        .any(|w| is_ident(code, i, w));
    let after = matches!(tok_at(code, i + 1), Some(Tok::Sep));
    let before = i.checked_sub(1).and_then(|p| tok_at(code, p));
    head && after && !matches!(before, Some(Tok::Sep | Tok::Punct(b'$')))
}

/// Reads the path or `use` tree at `code[i]`, below the segments `prefix`, into `out`;
/// returns the index after it.
fn use_tree(code: &[Token], mut i: usize, prefix: &[String], out: &mut Vec<Leaf>) -> usize {
    let mut segs = prefix.to_vec();
    let mut line = code.get(i).map_or(0, |t| t.line);
    loop {
        match tok_at(code, i) {
            Some(Tok::Ident(word)) => {
                segs.push(word.clone());
                line = code[i].line;
                i += 1;
                if matches!(tok_at(code, i), Some(Tok::Sep)) {
                    i += 1;
                    continue;
                }
                out.push(Leaf { segs, line });
                let renamed =
                    is_ident(code, i, "as") && matches!(tok_at(code, i + 1), Some(Tok::Ident(_)));
                return if renamed { i + 2 } else { i };
            }
            Some(Tok::Punct(b'*')) => {
                segs.push("*".to_string());
                out.push(Leaf {
                    segs,
                    line: code[i].line,
                });
                return i + 1;
            }
            Some(Tok::Punct(b'{')) => return use_group(code, i + 1, &segs, out),
            _ => {
                if segs.len() > prefix.len() {
                    out.push(Leaf { segs, line });
                }
                return i;
            }
        }
    }
}

/// The items of `{ a::b, c::{d, e}, self }` after its opening brace.
fn use_group(code: &[Token], mut i: usize, prefix: &[String], out: &mut Vec<Leaf>) -> usize {
    loop {
        match tok_at(code, i) {
            None => return i,
            Some(Tok::Punct(b'}')) => return i + 1,
            Some(Tok::Punct(b',')) => i += 1,
            Some(_) => {
                let next = use_tree(code, i, prefix, out);
                if next == i {
                    return i;
                }
                i = next;
            }
        }
    }
}

/// Where `segs` (`super::super::x`) points from inside the module `ctx`, from the crate root.
fn resolve(segs: &[String], ctx: &[String]) -> Option<Vec<String>> {
    let (base, rest) = match segs.first()?.as_str() {
        "crate" => (&ctx[..0], &segs[1..]),
        "self" => (ctx, &segs[1..]),
        "super" => {
            let ups = segs.iter().take_while(|s| *s == "super").count();
            (ctx.get(..ctx.len().checked_sub(ups)?)?, &segs[ups..])
        }
        _ => return None,
    };
    let rest = rest.iter().filter(|s| *s != "self");
    Some(base.iter().chain(rest).cloned().collect())
}

/// The name of an inline module whose body the `{` at `i` opens: `mod name {`.
fn inline_mod(code: &[Token], i: usize) -> Option<String> {
    let name = match tok_at(code, i.checked_sub(1)?)? {
        Tok::Ident(name) => name.clone(),
        _ => return None,
    };
    is_ident(code, i.checked_sub(2)?, "mod").then_some(name)
}

/// The walk over one file's tokens: the module the current place is in, and what was found.
struct Walk {
    /// The file's module path, then the inline modules around the current place.
    ctx: Vec<String>,
    /// Brace depth at which each inline module of `ctx` was opened.
    opened: Vec<usize>,
    depth: usize,
    found: Scanned,
}

impl Walk {
    fn brace(&mut self, code: &[Token], i: usize) {
        match tok_at(code, i) {
            Some(Tok::Punct(b'{')) => {
                self.depth += 1;
                if let Some(name) = inline_mod(code, i) {
                    self.ctx.push(name);
                    self.opened.push(self.depth);
                }
            }
            Some(Tok::Punct(b'}')) => {
                if self.opened.last() == Some(&self.depth) {
                    self.opened.pop();
                    self.ctx.pop();
                }
                self.depth = self.depth.saturating_sub(1);
            }
            _ => {}
        }
    }

    /// Records the path at `code[i]`; returns the index after it.
    fn path(&mut self, code: &[Token], i: usize, in_comment: bool) -> usize {
        let mut leaves = Vec::new();
        let end = use_tree(code, i, &[], &mut leaves);
        for leaf in leaves {
            let written: Vec<&str> = leaf
                .segs
                .iter()
                .enumerate()
                .filter(|(k, s)| *k == 0 || *s != "self")
                .map(|(_, s)| s.as_str())
                .collect();
            self.found.paths.push(PathRef {
                text: written.join("::"),
                line: leaf.line,
                in_comment,
                target: resolve(&leaf.segs, &self.ctx),
            });
        }
        end.max(i + 1)
    }

    fn comment(&mut self, comment: &Comment) {
        if let Some(body) = comment.text.strip_prefix("//!") {
            self.found.inner_docs.push((comment.line, body.to_string()));
        }
        let toks = comment_tokens(&comment.text, comment.line);
        let mut i = 0;
        while i < toks.len() {
            i = if path_starts(&toks, i) {
                self.path(&toks, i, true)
            } else {
                i + 1
            };
        }
    }
}

/// Every `crate::`, `super::` and `self::` path of a file whose module path is `module`
/// (`["mcp", "client"]`), in code and in comments, and its `//!` lines.
fn scan(src: &str, module: &[String]) -> Scanned {
    let lexed = Lexer::lex(src);
    let mut walk = Walk {
        ctx: module.to_vec(),
        opened: Vec::new(),
        depth: 0,
        found: Scanned::default(),
    };
    let mut comments = lexed.comments.iter().peekable();
    let mut inside_path_until = 0;
    for i in 0..lexed.code.len() {
        while let Some(comment) = comments.next_if(|c| c.before <= i) {
            walk.comment(comment);
        }
        walk.brace(&lexed.code, i);
        if i >= inside_path_until && path_starts(&lexed.code, i) {
            inside_path_until = walk.path(&lexed.code, i, false);
        }
    }
    comments.for_each(|comment| walk.comment(comment));
    walk.found
}

// ---------------------------------------------------------------------------------------------
// The source tree

/// One `.rs` file under `src/` (the crate roots `lib.rs` and `main.rs` left out).
struct SrcFile {
    /// `src/mcp/client.rs`
    rel: String,
    /// `["mcp", "client"]`
    module: Vec<String>,
    scanned: Scanned,
}

impl SrcFile {
    fn new(rel: &str, text: &str) -> SrcFile {
        let module = module_path(rel);
        let scanned = scan(text, &module);
        SrcFile {
            rel: rel.to_string(),
            module,
            scanned,
        }
    }

    fn top(&self) -> &str {
        self.module.first().map_or("", String::as_str)
    }

    fn file_name(&self) -> &str {
        self.rel.rsplit('/').next().unwrap_or(&self.rel)
    }
}

/// `src/a/b.rs` and `src/a/b/mod.rs` → `a::b`.
fn module_path(rel: &str) -> Vec<String> {
    let inner = rel.strip_prefix("src/").unwrap_or(rel);
    let inner = inner.strip_suffix(".rs").unwrap_or(inner);
    let inner = inner.strip_suffix("/mod").unwrap_or(inner);
    inner.split('/').map(str::to_string).collect()
}

fn rs_files(dir: &Path, rel: &str, out: &mut Vec<String>) {
    let entries =
        fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
    for entry in entries {
        let entry = entry.unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if path.is_dir() {
            rs_files(&path, &format!("{rel}/{name}"), out);
        } else if name.ends_with(".rs") {
            out.push(format!("{rel}/{name}"));
        }
    }
}

/// Every file of `src/` below the crate roots, sorted by path.
fn read_sources(root: &Path) -> Vec<SrcFile> {
    let mut rels = Vec::new();
    rs_files(&root.join("src"), "src", &mut rels);
    rels.retain(|rel| rel != "src/lib.rs" && rel != "src/main.rs");
    rels.sort();
    rels.iter()
        .map(|rel| {
            let text = fs::read_to_string(root.join(rel))
                .unwrap_or_else(|e| panic!("cannot read {rel}: {e}"));
            SrcFile::new(rel, &text)
        })
        .collect()
}

/// `src/X.rs` and `src/X/mod.rs`, except the crate roots.
fn top_level_modules(src: &Path) -> BTreeSet<String> {
    let entries =
        fs::read_dir(src).unwrap_or_else(|e| panic!("cannot list {}: {e}", src.display()));
    let mut tops = BTreeSet::new();
    for entry in entries {
        let path = entry.expect("a readable entry of src/").path();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if let Some(stem) = name.strip_suffix(".rs").filter(|_| path.is_file()) {
            if stem != "lib" && stem != "main" {
                tops.insert(stem.to_string());
            }
        } else if path.join("mod.rs").is_file() {
            tops.insert(name);
        }
    }
    tops
}

// ---------------------------------------------------------------------------------------------
// Graphs

/// One reach from a module (or file) to another, and where it is written.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Edge {
    from: String,
    to: String,
    file: String,
    line: usize,
    text: String,
}

impl Edge {
    fn place(&self) -> String {
        format!("{}:{} `{}`", self.file, self.line, self.text)
    }
}

type Graph = BTreeMap<String, BTreeSet<String>>;

fn graph(edges: &[Edge]) -> Graph {
    let mut graph = Graph::new();
    for e in edges {
        graph
            .entry(e.from.clone())
            .or_default()
            .insert(e.to.clone());
        graph.entry(e.to.clone()).or_default();
    }
    graph
}

/// Everything reachable from `from`, itself included.
fn reach(graph: &Graph, from: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::from([from.to_string()]);
    let mut todo = vec![from.to_string()];
    while let Some(node) = todo.pop() {
        for next in graph.get(&node).into_iter().flatten() {
            if seen.insert(next.clone()) {
                todo.push(next.clone());
            }
        }
    }
    seen
}

/// Strongly connected components of more than one node, sorted.
fn circles(graph: &Graph) -> Vec<Vec<String>> {
    let reaches: BTreeMap<&String, BTreeSet<String>> =
        graph.keys().map(|n| (n, reach(graph, n))).collect();
    let mut found = BTreeSet::new();
    for (node, reached) in &reaches {
        let component: Vec<String> = reached
            .iter()
            .filter(|other| reaches.get(other).is_some_and(|back| back.contains(*node)))
            .cloned()
            .collect();
        if component.len() > 1 {
            found.insert(component);
        }
    }
    found.into_iter().collect()
}

/// For each edge between members of `circle`: `a -> b: file:line `path`, …`, at most `places`
/// distinct places each.
fn circle_edges(circle: &[String], edges: &[Edge], places: usize) -> Vec<String> {
    type Places<'e> = BTreeMap<(&'e str, usize), &'e str>;
    let mut by_pair: BTreeMap<(&str, &str), Places> = BTreeMap::new();
    for e in edges
        .iter()
        .filter(|e| circle.contains(&e.from) && circle.contains(&e.to))
    {
        let seen = by_pair.entry((&e.from, &e.to)).or_default();
        seen.entry((&e.file, e.line)).or_insert(&e.text);
    }
    by_pair
        .into_iter()
        .map(|((from, to), seen)| {
            let shown: Vec<String> = seen
                .iter()
                .take(places)
                .map(|((file, line), text)| format!("{file}:{line} `{text}`"))
                .collect();
            let more = match seen.len().saturating_sub(places) {
                0 => String::new(),
                n => format!(" (and {n} more)"),
            };
            format!("    {from} -> {to}: {}{more}", shown.join(", "))
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Failures

/// One failure; sorted by kind, then by place.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Failure {
    kind: u8,
    file: String,
    line: usize,
    text: String,
}

impl Failure {
    fn general(kind: u8, text: String) -> Failure {
        Failure {
            kind,
            file: String::new(),
            line: 0,
            text,
        }
    }
}

fn verdict(what: &str, failures: &BTreeSet<Failure>) {
    if failures.is_empty() {
        return;
    }
    let list: Vec<&str> = failures.iter().map(|f| f.text.as_str()).collect();
    panic!(
        "{what}: {} failure(s)\n\n{}\n",
        failures.len(),
        list.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// Part A: top-level modules and their layers

#[derive(Debug, PartialEq)]
struct Layer {
    name: String,
    modules: Vec<String>,
}

const LAYERS_HEADING: &str = "## Layers";

/// The rows of the `## Layers` table, bottom layer first.
fn parse_layers(md: &str) -> Result<Vec<Layer>, String> {
    let mut lines = md.lines().skip_while(|l| l.trim_end() != LAYERS_HEADING);
    if lines.next().is_none() {
        return Err(format!(
            "docs/architecture.md has no `{LAYERS_HEADING}` section"
        ));
    }
    let is_row = |l: &&str| l.trim_start().starts_with('|');
    let rows: Vec<&str> = lines
        .take_while(|l| !l.starts_with("# ") && !l.starts_with("## "))
        .skip_while(|l| !is_row(l))
        .take_while(is_row)
        .collect();
    let separator = |row: &str| row.chars().all(|c| matches!(c, '|' | '-' | ':' | ' '));
    if rows.len() < 3 || !separator(rows[1]) {
        return Err(format!(
            "the `{LAYERS_HEADING}` section of docs/architecture.md holds no table \
             (| layer | modules | what it holds |, a |---| line, then one row per layer)"
        ));
    }
    Ok(rows[2..].iter().map(|row| layer_row(row)).collect())
}

/// `| name | `a`, `b` | … |` → the layer `name` holding `a` and `b`.
fn layer_row(row: &str) -> Layer {
    let mut cells = row.trim().trim_start_matches('|').split('|');
    let name = cells.next().unwrap_or("").trim().to_string();
    let modules = cells.next().unwrap_or("").split('`').skip(1).step_by(2);
    Layer {
        name,
        modules: modules.map(|m| m.trim().to_string()).collect(),
    }
}

/// Module → (layer index, layer name), and what is wrong with the table.
fn place_modules(
    layers: &[Layer],
    tops: &BTreeSet<String>,
) -> (BTreeMap<String, (usize, String)>, Vec<String>) {
    let mut placed: BTreeMap<String, (usize, String)> = BTreeMap::new();
    let mut wrong = Vec::new();
    for (index, layer) in layers.iter().enumerate() {
        if layer.modules.is_empty() {
            wrong.push(format!(
                "layer '{}' of the layers table names no module",
                layer.name
            ));
        }
        for module in &layer.modules {
            if let Some((_, first)) = placed.get(module) {
                wrong.push(format!(
                    "the layers table names `{module}` twice (layers '{first}' and '{}')",
                    layer.name
                ));
                continue;
            }
            if !tops.contains(module) {
                wrong.push(format!(
                    "the layers table names `{module}` (layer '{}'), which is not a top-level module of src/",
                    layer.name
                ));
            }
            placed.insert(module.clone(), (index, layer.name.clone()));
        }
    }
    for top in tops.iter().filter(|t| !placed.contains_key(*t)) {
        wrong.push(format!(
            "top-level module `{top}` is in no layer of the layers table"
        ));
    }
    (placed, wrong)
}

/// Reaches from one top-level module to another.
fn module_edges(files: &[SrcFile], tops: &BTreeSet<String>) -> Vec<Edge> {
    let mut edges = Vec::new();
    for file in files {
        for path in &file.scanned.paths {
            let Some(to) = path.target.as_ref().and_then(|t| t.first()) else {
                continue;
            };
            if tops.contains(to) && to != file.top() {
                edges.push(Edge {
                    from: file.top().to_string(),
                    to: to.clone(),
                    file: file.rel.clone(),
                    line: path.line,
                    text: path.text.clone(),
                });
            }
        }
    }
    edges.sort();
    edges.dedup();
    edges
}

/// One failure per place where a module reaches a layer above its own.
fn upward_edges(
    edges: &[Edge],
    placed: &BTreeMap<String, (usize, String)>,
    out: &mut BTreeSet<Failure>,
) {
    let mut by_place: BTreeMap<(&str, usize, &str, &str), Vec<String>> = BTreeMap::new();
    for e in edges {
        let (Some((from, _)), Some((to, _))) = (placed.get(&e.from), placed.get(&e.to)) else {
            continue;
        };
        if to > from {
            let texts = by_place
                .entry((&e.file, e.line, &e.from, &e.to))
                .or_default();
            texts.push(format!("`{}`", e.text));
        }
    }
    for ((file, line, from, to), texts) in by_place {
        let layer = |module: &str| {
            placed
                .get(module)
                .map_or(String::new(), |(_, name)| name.clone())
        };
        let text = format!(
            "{file}:{line}: {from} (layer '{}') reaches {to} (layer '{}'), which is above it: {}",
            layer(from),
            layer(to),
            texts.join(", ")
        );
        out.insert(Failure {
            kind: 1,
            file: file.to_string(),
            line,
            text,
        });
    }
}

/// Every failure of the layering of `root`'s src/ against its docs/architecture.md.
fn layer_failures(files: &[SrcFile], tops: &BTreeSet<String>, md: &str) -> BTreeSet<Failure> {
    let mut failures = BTreeSet::new();
    let edges = module_edges(files, tops);
    match parse_layers(md) {
        Err(e) => {
            failures.insert(Failure::general(0, e));
        }
        Ok(layers) => {
            let (placed, wrong) = place_modules(&layers, tops);
            failures.extend(wrong.into_iter().map(|w| Failure::general(0, w)));
            upward_edges(&edges, &placed, &mut failures);
        }
    }
    for circle in circles(&graph(&edges)) {
        let lines = circle_edges(&circle, &edges, PLACES_PER_MODULE_EDGE);
        let text = format!(
            "circle between top-level modules {}:\n{}",
            circle.join(", "),
            lines.join("\n")
        );
        failures.insert(Failure::general(2, text));
    }
    failures
}

// ---------------------------------------------------------------------------------------------
// Part B: loops between files of one folder

/// Reaches in code from one file to another file of the same top-level module.
fn file_edges(files: &[SrcFile]) -> Vec<Edge> {
    let by_module: BTreeMap<&[String], &SrcFile> =
        files.iter().map(|f| (f.module.as_slice(), f)).collect();
    let mut edges = Vec::new();
    for file in files {
        for path in file.scanned.paths.iter().filter(|p| !p.in_comment) {
            let Some(target) = &path.target else { continue };
            let owner = (1..=target.len())
                .rev()
                .find_map(|n| by_module.get(&target[..n]));
            let Some(owner) = owner else { continue };
            if owner.rel != file.rel && owner.top() == file.top() {
                edges.push(Edge {
                    from: file.rel.clone(),
                    to: owner.rel.clone(),
                    file: file.rel.clone(),
                    line: path.line,
                    text: path.text.clone(),
                });
            }
        }
    }
    edges.sort();
    edges.dedup();
    edges
}

/// The `//! Tied to …` notes of a file, each with the `//!` lines that continue it.
fn tied_notes(docs: &[(usize, String)]) -> Vec<String> {
    let mut notes: Vec<(usize, String)> = Vec::new();
    let mut open = false;
    for (line, body) in docs {
        let body = body.trim();
        if body.starts_with("Tied to ") {
            notes.push((*line, body.to_string()));
            open = true;
        } else if let Some((last, text)) = notes.last_mut()
            && open
            && *line == *last + 1
            && !body.is_empty()
        {
            text.push(' ');
            text.push_str(body);
            *last = *line;
        } else {
            open = false;
        }
    }
    notes.into_iter().map(|(_, text)| text).collect()
}

/// One file of the loop has a `Tied to` note naming every other file of it in backticks.
fn loop_is_tied(members: &[&SrcFile]) -> bool {
    members.iter().any(|file| {
        tied_notes(&file.scanned.inner_docs).iter().any(|note| {
            let named: BTreeSet<&str> = note.split('`').skip(1).step_by(2).collect();
            members
                .iter()
                .filter(|other| other.rel != file.rel)
                .all(|other| {
                    let inner = other.rel.strip_prefix("src/").unwrap_or(&other.rel);
                    named.contains(other.file_name()) || named.contains(inner)
                })
        })
    })
}

fn file_loop_failures(files: &[SrcFile]) -> BTreeSet<Failure> {
    let mut failures = BTreeSet::new();
    let edges = file_edges(files);
    let loops = circles(&graph(&edges));
    let by_rel: BTreeMap<&str, &SrcFile> = files.iter().map(|f| (f.rel.as_str(), f)).collect();
    let mut described = Vec::new();
    for files_of_loop in &loops {
        let members: Vec<&SrcFile> = files_of_loop
            .iter()
            .filter_map(|rel| by_rel.get(rel.as_str()).copied())
            .collect();
        let top = members.first().map_or("", |f| f.top());
        let heading = format!(
            "loop between files of `{top}`: {}",
            files_of_loop.join(", ")
        );
        if !loop_is_tied(&members) {
            let inside = circle_edges(files_of_loop, &edges, PLACES_PER_FILE_EDGE).join("\n");
            let why = "no file of it has a `//! Tied to ` line naming the others in backticks";
            let text = format!("{heading}\n{inside}\n    ({why})");
            failures.insert(Failure::general(3, text));
        }
        described.push(format!("    {heading}"));
    }
    if loops.len() > MAX_FILE_LOOPS {
        let text = format!(
            "{} loops between files of one folder, more than {MAX_FILE_LOOPS}:\n{}",
            loops.len(),
            described.join("\n")
        );
        failures.insert(Failure::general(4, text));
    }
    failures
}

// ---------------------------------------------------------------------------------------------
// The checks of this crate

fn crate_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn top_level_modules_keep_to_their_layers_without_circles() {
    let root = crate_root();
    let files = read_sources(root);
    let tops = top_level_modules(&root.join("src"));
    let md = fs::read_to_string(root.join("docs/architecture.md"))
        .expect("docs/architecture.md is readable");
    let failures = layer_failures(&files, &tops, &md);
    verdict(
        "module layering (src/ against `## Layers` in docs/architecture.md)",
        &failures,
    );
}

#[test]
fn files_of_one_folder_do_not_loop_unless_tied() {
    let files = read_sources(crate_root());
    verdict(
        "loops between files of one folder",
        &file_loop_failures(&files),
    );
}

// ---------------------------------------------------------------------------------------------
// The scanner on small snippets

#[cfg(test)]
fn strings(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| w.to_string()).collect()
}

/// Targets of the paths of `src` in module `module` (`"a::b"`), code or comments as asked.
#[cfg(test)]
fn targets(src: &str, module: &str, comments: bool) -> Vec<String> {
    let module = strings(&module.split("::").collect::<Vec<_>>());
    scan(src, &module)
        .paths
        .into_iter()
        .filter(|p| p.in_comment == comments)
        .map(|p| {
            p.target
                .map_or("<above the root>".to_string(), |t| t.join("::"))
        })
        .collect()
}

#[test]
fn scanner_reads_every_leaf_of_grouped_uses() {
    let src = "use crate::{a::b, c::{d, e as f}, g::{self, h::*}};\nuse super::{x, y::z};";
    let found = targets(src, "m::n", false);
    assert_eq!(
        found,
        ["a::b", "c::d", "c::e", "g", "g::h::*", "m::x", "m::y::z"]
    );
}

#[test]
fn scanner_reads_inline_paths_and_their_lines() {
    let src = "fn f() {\n    let v = crate::units::parse(x)\n        .map(self::g);\n}\n";
    let paths = scan(src, &strings(&["run"])).paths;
    let found: Vec<(String, usize)> = paths.iter().map(|p| (p.text.clone(), p.line)).collect();
    assert_eq!(
        found,
        [
            ("crate::units::parse".to_string(), 2),
            ("self::g".to_string(), 3)
        ]
    );
}

#[test]
fn scanner_tracks_nested_braces_and_inline_modules() {
    let src = "mod outer { fn f() { if x { y() } else { { z() } } }\n\
               mod inner { use super::super::q; } use self::p; }\nuse self::r;";
    assert_eq!(
        targets(src, "a::b", false),
        ["a::b::q", "a::b::outer::p", "a::b::r"]
    );
}

#[test]
fn scanner_counts_comments_apart_from_code() {
    let src = "//! Uses [`crate::clock`].\n/// See crate::units::{parse, Pct}.\n\
               /* crate::diag /* nested */ crate::net */ fn f() { crate::error::Error::x(); } // don't: 'x";
    assert_eq!(targets(src, "run", false), ["error::Error::x"]);
    assert_eq!(
        targets(src, "run", true),
        ["clock", "units::parse", "units::Pct", "diag", "net"]
    );
}

#[test]
fn scanner_skips_string_and_char_literals() {
    let src = r#"let a = "crate::x \" crate::y"; let b = b"crate::z"; let c = c"crate::w";
                 let q = '"'; let e = '\''; let u = '\u{7D}'; let f = '→'; crate::real::f();"#;
    assert_eq!(targets(src, "run", false), ["real::f"]);
    assert!(targets(src, "run", true).is_empty());
}

#[test]
fn scanner_skips_raw_strings() {
    let src = "let s = r#\"crate::x \" still \"#; crate::y::f(); let t = r\"crate::z\";\n\
               let u = br##\"a \"# crate::q\"##; let v = cr#\"crate::w\"#; let r#type = 1;";
    assert_eq!(targets(src, "run", false), ["y::f"]);
}

#[test]
fn scanner_does_not_take_lifetimes_for_char_literals() {
    let src = "fn f<'a>(x: &'a str) -> &'static str { let c = '}'; 'outer: loop { break 'outer; } }\n\
               mod m { use super::k; }\nuse self::l;";
    assert_eq!(targets(src, "a", false), ["a::k", "a::l"]);
}

#[test]
fn scanner_skips_byte_char_literals() {
    let src = "let q = b'\"'; let r = b'\\''; let s = b'{'; crate::y::f(); mod m { use super::g; }";
    assert_eq!(targets(src, "a", false), ["y::f", "a::g"]);
}

#[test]
fn scanner_ignores_dollar_crate_and_visibility() {
    let src = "macro_rules! m { () => { $crate::x::f() }; }\npub(crate) fn f() {}\npub(super) fn g() {}\n\
               /// [`$crate::y`]\npub(in crate::z) fn h() {}";
    assert_eq!(targets(src, "a::b", false), ["z"]);
    assert!(targets(src, "a::b", true).is_empty());
}

#[test]
fn super_in_tests_module_stays_in_its_file() {
    let files = [
        SrcFile::new(
            "src/a/b.rs",
            "#[cfg(test)]\nmod tests {\n    use super::*;\n    use super::super::c::d;\n}\n",
        ),
        SrcFile::new("src/a/c.rs", "pub fn d() {}"),
    ];
    let edges: Vec<String> = file_edges(&files)
        .iter()
        .map(|e| format!("{} -> {}", e.place(), e.to))
        .collect();
    assert_eq!(edges, ["src/a/b.rs:4 `super::super::c::d` -> src/a/c.rs"]);
}

#[test]
fn super_climbing_out_of_a_top_level_module_reaches_another() {
    let tops: BTreeSet<String> = strings(&["run", "driver", "a"]).into_iter().collect();
    let files = [
        SrcFile::new("src/run.rs", "use super::driver::Engine;"),
        SrcFile::new("src/a/b.rs", "use super::super::run; use super::x;"),
        SrcFile::new("src/driver/mod.rs", "use super::super::beyond;"),
    ];
    let edges: Vec<String> = module_edges(&files, &tops)
        .iter()
        .map(|e| format!("{} -> {}", e.from, e.to))
        .collect();
    assert_eq!(edges, ["a -> run", "run -> driver"]);
    assert_eq!(files[2].scanned.paths[0].target, None);
}

#[test]
fn comments_count_between_modules_but_not_between_files() {
    let tops: BTreeSet<String> = strings(&["a", "c"]).into_iter().collect();
    let files = [
        SrcFile::new(
            "src/a/x.rs",
            "//! Beside [`crate::a::y`] and [`crate::c`].\nfn f() {}",
        ),
        SrcFile::new("src/a/y.rs", "// crate::a::x\nfn g() {}"),
        SrcFile::new("src/c.rs", ""),
    ];
    let modules: Vec<String> = module_edges(&files, &tops)
        .iter()
        .map(|e| e.place())
        .collect();
    assert_eq!(modules, ["src/a/x.rs:1 `crate::c`"]);
    assert!(file_edges(&files).is_empty());
}

#[test]
fn layers_table_is_read_and_held_to_the_tree() {
    let md = "# A\n\n## Layers\n\nBottom first.\n\n| layer | modules | what |\n|---|---|---|\n\
              | foundation | `clock`, `units` | time |\n| commands | `run`, `clock`, `ghost` | top |\n\n## Next\n";
    let layers = parse_layers(md).expect("the table parses");
    assert_eq!(layers[0].modules, ["clock", "units"]);
    assert_eq!(layers[1].name, "commands");
    let tops: BTreeSet<String> = strings(&["clock", "units", "run", "net"])
        .into_iter()
        .collect();
    let (placed, wrong) = place_modules(&layers, &tops);
    assert_eq!(placed["run"], (1, "commands".to_string()));
    assert_eq!(wrong.len(), 3, "{wrong:?}");
    assert!(wrong[0].contains("`clock` twice"), "{wrong:?}");
    assert!(wrong[1].contains("`ghost`"), "{wrong:?}");
    assert!(wrong[2].contains("`net` is in no layer"), "{wrong:?}");
    assert!(
        parse_layers("# A\n## Layers\nno table\n## B\n| a | b |\n|---|---|\n| x | `y` |\n")
            .is_err()
    );
    assert!(parse_layers("# A\n").is_err());
}

#[test]
fn upward_reaches_and_circles_are_failures() {
    let md = "## Layers\n\n| layer | modules | what |\n|---|---|---|\n| low | `a`, `b` | x |\n| high | `c` | y |\n";
    let tops: BTreeSet<String> = strings(&["a", "b", "c"]).into_iter().collect();
    let files = [
        SrcFile::new("src/a.rs", "use crate::b::f;\nuse crate::c::g;"),
        SrcFile::new("src/b.rs", "fn h() { super::a::f() }"),
        SrcFile::new("src/c.rs", "use crate::a::f;"),
    ];
    let failures: Vec<String> = layer_failures(&files, &tops, md)
        .into_iter()
        .map(|f| f.text)
        .collect();
    assert_eq!(failures.len(), 2, "{failures:?}");
    assert_eq!(
        failures[0],
        "src/a.rs:2: a (layer 'low') reaches c (layer 'high'), which is above it: `crate::c::g`"
    );
    expect_failure(
        &failures[1],
        "circle between top-level modules a, b, c:\n",
        "b -> a: src/b.rs:1 `super::a::f`",
    );
}

/// A failure that opens with `head` and names `part` somewhere in it.
fn expect_failure(text: &str, head: &str, part: &str) {
    assert!(text.starts_with(head), "{text}");
    assert!(text.contains(part), "{text}");
}

#[test]
fn file_loops_need_a_tied_note() {
    let tied = "//! A backend.\n//!\n//! Tied to `link.rs`: a backend owns its link,\n//! and the link reports back.\n\
                use super::link::Link;";
    let files = [
        SrcFile::new("src/g/backend.rs", tied),
        SrcFile::new("src/g/link.rs", "use super::backend::Slot;"),
        SrcFile::new("src/h/p.rs", "use crate::h::q::X;"),
        SrcFile::new("src/h/q.rs", "//! Tied to `r.rs`.\nuse super::p::Y;"),
    ];
    let failures: Vec<String> = file_loop_failures(&files)
        .into_iter()
        .map(|f| f.text)
        .collect();
    assert_eq!(failures.len(), 1, "{failures:?}");
    expect_failure(
        &failures[0],
        "loop between files of `h`: src/h/p.rs, src/h/q.rs\n",
        "src/h/q.rs -> src/h/p.rs: src/h/q.rs:2 `super::p::Y`",
    );
}

#[test]
fn more_than_four_file_loops_fail_even_when_tied() {
    let mut files = Vec::new();
    for k in 0..5 {
        files.push(SrcFile::new(
            &format!("src/m{k}/a.rs"),
            "//! Tied to `b.rs`.\nuse super::b::X;",
        ));
        files.push(SrcFile::new(&format!("src/m{k}/b.rs"), "use super::a::Y;"));
    }
    let failures: Vec<String> = file_loop_failures(&files)
        .into_iter()
        .map(|f| f.text)
        .collect();
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(
        failures[0].starts_with("5 loops between files of one folder, more than 4:"),
        "{}",
        failures[0]
    );
}
