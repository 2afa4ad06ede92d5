//! The lexer: turns query text into tokens with byte positions, one at a time, so that
//! the parser reports the leftmost problem. It never fails except on an unterminated
//! text; a character that starts no token becomes [`Tok::Bad`] for the parser to refuse
//! with what it expected there.

use super::{MAX_LITERAL_LEN, Part, Problem, QueryError};

/// A token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Tok<'a> {
    /// A word: a field name, keyword, operator or function name. ASCII letters, digits and
    /// `_`, with inner single hyphens (`eq-userid`, `last-x-days`).
    Word(&'a str),
    /// A quoted text, unescaped.
    Str(String),
    /// A number, date or date-time as written: starts with a digit (or `-` and a digit)
    /// and runs over digits, letters, `.`, `:`, `+` and `-`.
    Num(&'a str),
    /// `(`
    LParen,
    /// `)`
    RParen,
    /// `,`
    Comma,
    /// A character that starts no token.
    Bad(char),
    /// The end of the text.
    End,
}

/// A token and its byte offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Token<'a> {
    pub(super) tok: Tok<'a>,
    pub(super) at: usize,
}

/// Reads tokens from a text on demand.
pub(super) struct Lexer<'a> {
    text: &'a str,
    pos: usize,
    part: Part,
}

impl<'a> Lexer<'a> {
    pub(super) fn new(text: &'a str, part: Part) -> Self {
        Self { text, pos: 0, part }
    }

    /// The next token.
    pub(super) fn next_token(&mut self) -> Result<Token<'a>, QueryError> {
        let bytes = self.text.as_bytes();
        while self.pos < bytes.len() && bytes[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
        let at = self.pos;
        let Some(c) = self.text[at..].chars().next() else {
            return Ok(Token { tok: Tok::End, at });
        };
        let next_is_digit = bytes.get(at + 1).is_some_and(u8::is_ascii_digit);
        let tok = match c {
            '(' => self.single(Tok::LParen),
            ')' => self.single(Tok::RParen),
            ',' => self.single(Tok::Comma),
            '\'' => self.string()?,
            c if c.is_ascii_alphabetic() || c == '_' => self.word(),
            c if c.is_ascii_digit() || (c == '-' && next_is_digit) => self.number(),
            c => {
                self.pos += c.len_utf8();
                Tok::Bad(c)
            }
        };
        Ok(Token { tok, at })
    }

    fn single(&mut self, tok: Tok<'a>) -> Tok<'a> {
        self.pos += 1;
        tok
    }

    fn word(&mut self) -> Tok<'a> {
        let bytes = self.text.as_bytes();
        let start = self.pos;
        let is_word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
        while self.pos < bytes.len() {
            let b = bytes[self.pos];
            if is_word(b) {
                self.pos += 1;
            } else if b == b'-' && bytes.get(self.pos + 1).is_some_and(|&n| is_word(n)) {
                self.pos += 2;
            } else {
                break;
            }
        }
        Tok::Word(&self.text[start..self.pos])
    }

    fn number(&mut self) -> Tok<'a> {
        let bytes = self.text.as_bytes();
        let start = self.pos;
        self.pos += 1;
        while self.pos < bytes.len()
            && (bytes[self.pos].is_ascii_alphanumeric()
                || matches!(bytes[self.pos], b'.' | b':' | b'+' | b'-'))
        {
            self.pos += 1;
        }
        Tok::Num(&self.text[start..self.pos])
    }

    fn string(&mut self) -> Result<Tok<'a>, QueryError> {
        let start = self.pos;
        let mut out = String::new();
        let mut rest = &self.text[start + 1..];
        loop {
            let Some(quote) = rest.find('\'') else {
                return Err(QueryError {
                    part: self.part,
                    at: start,
                    problem: Problem::Expected {
                        expected: "a closing quote for this text",
                        found: "the end".to_owned(),
                    },
                });
            };
            out.push_str(&rest[..quote]);
            rest = &rest[quote + 1..];
            if let Some(after) = rest.strip_prefix('\'') {
                out.push('\'');
                rest = after;
            } else {
                break;
            }
        }
        if let Some(nul) = self.text[start..self.text.len() - rest.len()].find('\0') {
            return Err(QueryError {
                part: self.part,
                at: start + nul,
                problem: Problem::NulInText,
            });
        }
        if out.len() > MAX_LITERAL_LEN {
            return Err(QueryError {
                part: self.part,
                at: start,
                problem: Problem::LiteralTooLong {
                    max: MAX_LITERAL_LEN,
                },
            });
        }
        self.pos = self.text.len() - rest.len();
        Ok(Tok::Str(out))
    }
}

/// How a token reads in an error message: `')'`, `'eq'`, `the text 'x'`, `the end`.
pub(super) fn describe(tok: &Tok<'_>) -> String {
    match tok {
        Tok::Word(w) | Tok::Num(w) => describe_word(w),
        Tok::Str(s) => format!("the text '{}'", clip(&s.replace('\'', "''"))),
        Tok::LParen => "'('".to_owned(),
        Tok::RParen => "')'".to_owned(),
        Tok::Comma => "','".to_owned(),
        Tok::Bad(c) => format!("'{c}'"),
        Tok::End => "the end".to_owned(),
    }
}

/// How a word reads in an error message: `'eq'`.
pub(super) fn describe_word(word: &str) -> String {
    format!("'{}'", clip(word))
}

/// At most 40 characters of a text, so that a message stays readable.
fn clip(text: &str) -> String {
    const MAX: usize = 40;
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}
