//! The parser: recursive descent from tokens to the untyped [`Filter`], and the small
//! grammars of `$select`, `$orderby` and `$top`.
//!
//! ```text
//! filter     = or END
//! or         = and { "or" and }
//! and        = unary { "and" unary }
//! unary      = "not" unary | primary
//! primary    = "(" or ")" | function | field condition
//! function   = ("contains" | "startswith" | "endswith") "(" field "," TEXT ")"
//! condition  = op literal | shortcut | datefn NUMBER | "today"
//! ```
//!
//! `and` and `or` chains become one n-ary node, so only parentheses and `not` deepen the
//! tree, and both count against [`MAX_DEPTH`]. Every condition and operator counts against
//! [`MAX_NODES`], and a text longer than [`MAX_TEXT_LEN`] is refused before it is read.

use rust_decimal::Decimal;

use super::lex::{Lexer, Tok, Token, describe, describe_word};
use super::{
    CompareOp, DateFunction, FieldName, Filter, Literal, MAX_DAYS, MAX_DEPTH, MAX_NODES,
    MAX_TEXT_LEN, OwnerShortcut, Part, Problem, QueryError, TextFunction,
};
use crate::metadata::SortDir;
use crate::value::{parse_date, parse_datetime};

/// Whether a word is a field name: lowercase ASCII letters, digits and `_`, not starting
/// with a digit, and not a reserved word.
pub(super) fn field_name(word: &str) -> bool {
    let mut bytes = word.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_lowercase() || b == b'_')
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !matches!(word, "and" | "or" | "not")
}

struct Parser<'a> {
    lexer: Lexer<'a>,
    tok: Token<'a>,
    part: Part,
    depth: usize,
    nodes: usize,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str, part: Part) -> Result<Self, QueryError> {
        if text.len() > MAX_TEXT_LEN {
            return Err(QueryError {
                part,
                at: 0,
                problem: Problem::TooLong { max: MAX_TEXT_LEN },
            });
        }
        let mut lexer = Lexer::new(text, part);
        let tok = lexer.next_token()?;
        Ok(Self {
            lexer,
            tok,
            part,
            depth: 0,
            nodes: 0,
        })
    }

    /// Counts `n` more nodes of the filter against [`MAX_NODES`].
    fn count(&mut self, n: usize) -> Result<(), QueryError> {
        self.nodes += n;
        self.within(self.nodes, Problem::TooManyNodes { max: MAX_NODES })
    }

    /// `problem` here when `n` is past the bound it names.
    fn within(&self, n: usize, problem: Problem) -> Result<(), QueryError> {
        match problem {
            Problem::TooManyNodes { max } | Problem::TooDeep { max } if n > max => {
                Err(QueryError {
                    part: self.part,
                    at: self.tok.at,
                    problem,
                })
            }
            _ => Ok(()),
        }
    }

    /// Moves to the next token and returns the current one.
    fn bump(&mut self) -> Result<Token<'a>, QueryError> {
        let next = self.lexer.next_token()?;
        Ok(std::mem::replace(&mut self.tok, next))
    }

    fn error<T>(&self, expected: &'static str) -> Result<T, QueryError> {
        Err(QueryError {
            part: self.part,
            at: self.tok.at,
            problem: Problem::Expected {
                expected,
                found: describe(&self.tok.tok),
            },
        })
    }

    fn is_word(&self, word: &str) -> bool {
        self.tok.tok == Tok::Word(word)
    }

    fn expect(&mut self, tok: &Tok<'_>, expected: &'static str) -> Result<(), QueryError> {
        if &self.tok.tok == tok {
            self.bump()?;
            Ok(())
        } else {
            self.error(expected)
        }
    }

    fn field(&mut self, expected: &'static str) -> Result<FieldName, QueryError> {
        match self.tok.tok {
            Tok::Word(w) if field_name(w) => {
                let at = self.tok.at;
                self.bump()?;
                Ok(FieldName {
                    name: w.to_owned(),
                    at,
                })
            }
            _ => self.error(expected),
        }
    }

    fn deeper(&mut self) -> Result<(), QueryError> {
        self.depth += 1;
        self.within(self.depth, Problem::TooDeep { max: MAX_DEPTH })
    }

    fn or(&mut self) -> Result<Filter, QueryError> {
        let mut terms = vec![self.and()?];
        while self.is_word("or") {
            if terms.len() == 1 {
                self.count(1)?;
            }
            self.bump()?;
            terms.push(self.and()?);
        }
        Ok(one_or(terms, Filter::Or))
    }

    fn and(&mut self) -> Result<Filter, QueryError> {
        let mut terms = vec![self.unary()?];
        while self.is_word("and") {
            if terms.len() == 1 {
                self.count(1)?;
            }
            self.bump()?;
            terms.push(self.unary()?);
        }
        Ok(one_or(terms, Filter::And))
    }

    fn unary(&mut self) -> Result<Filter, QueryError> {
        if self.is_word("not") {
            self.count(1)?;
            self.deeper()?;
            self.bump()?;
            let inner = self.unary()?;
            self.depth -= 1;
            return Ok(Filter::Not(Box::new(inner)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Filter, QueryError> {
        const CONDITION: &str = "a condition (a field name, 'not', '(' or a function)";
        match self.tok.tok {
            Tok::LParen => {
                self.deeper()?;
                self.bump()?;
                let inner = self.or()?;
                self.expect(&Tok::RParen, "'and', 'or' or ')'")?;
                self.depth -= 1;
                Ok(inner)
            }
            Tok::Word(w) if field_name(w) => {
                self.count(1)?;
                let at = self.tok.at;
                self.bump()?;
                let function = match w {
                    "contains" => Some(TextFunction::Contains),
                    "startswith" => Some(TextFunction::StartsWith),
                    "endswith" => Some(TextFunction::EndsWith),
                    _ => None,
                };
                match function {
                    Some(function) if self.tok.tok == Tok::LParen => self.function(function, at),
                    _ => self.condition(FieldName {
                        name: w.to_owned(),
                        at,
                    }),
                }
            }
            _ => self.error(CONDITION),
        }
    }

    fn function(&mut self, function: TextFunction, at: usize) -> Result<Filter, QueryError> {
        self.expect(&Tok::LParen, "'('")?;
        let field = self.field("a field name")?;
        self.expect(&Tok::Comma, "','")?;
        let Tok::Str(arg) = &self.tok.tok else {
            return self.error("a text in quotes");
        };
        let arg = arg.clone();
        self.bump()?;
        self.expect(&Tok::RParen, "')'")?;
        Ok(Filter::Text {
            function,
            at,
            field,
            arg,
        })
    }

    fn condition(&mut self, field: FieldName) -> Result<Filter, QueryError> {
        const OPERATOR: &str = "an operator (eq, ne, gt, ge, lt, le), a shortcut such as \
                                eq-userid, or a date function such as last-x-days";
        let Tok::Word(word) = self.tok.tok else {
            return self.error(OPERATOR);
        };
        let at = self.tok.at;
        let op = match word {
            "eq" => CompareOp::Eq,
            "ne" => CompareOp::Ne,
            "gt" => CompareOp::Gt,
            "ge" => CompareOp::Ge,
            "lt" => CompareOp::Lt,
            "le" => CompareOp::Le,
            _ => return self.special(field, word, at, OPERATOR),
        };
        self.bump()?;
        let value_at = self.tok.at;
        let value = self.literal()?;
        Ok(Filter::Compare {
            field,
            op,
            op_at: at,
            value,
            value_at,
        })
    }

    /// A shortcut or a date function after `field`.
    fn special(
        &mut self,
        field: FieldName,
        word: &str,
        at: usize,
        expected: &'static str,
    ) -> Result<Filter, QueryError> {
        let shortcut = match word {
            "eq-userid" => Some(OwnerShortcut::UserId),
            "eq-userteams" => Some(OwnerShortcut::UserTeams),
            "eq-useroruserhierarchy" => Some(OwnerShortcut::UserOrUserHierarchy),
            "eq-businessid" => Some(OwnerShortcut::BusinessId),
            _ => None,
        };
        if let Some(shortcut) = shortcut {
            self.bump()?;
            return Ok(Filter::Shortcut {
                field,
                shortcut,
                at,
            });
        }
        let days: fn(u32) -> DateFunction = match word {
            "today" => {
                self.bump()?;
                return Ok(Filter::Date {
                    field,
                    function: DateFunction::Today,
                    at,
                });
            }
            "last-x-days" => DateFunction::LastXDays,
            "next-x-days" => DateFunction::NextXDays,
            "older-x-days" => DateFunction::OlderXDays,
            _ => return self.error(expected),
        };
        self.bump()?;
        let n = match self.tok.tok {
            Tok::Num(n) if n.bytes().all(|b| b.is_ascii_digit()) => n.parse::<u32>().ok(),
            _ => None,
        };
        match n {
            Some(n) if (1..=MAX_DAYS).contains(&n) => {
                self.bump()?;
                Ok(Filter::Date {
                    field,
                    function: days(n),
                    at,
                })
            }
            _ => self.error("a number of days from 1 to 36500"),
        }
    }

    fn literal(&mut self) -> Result<Literal, QueryError> {
        const VALUE: &str = "a value";
        let literal = match &self.tok.tok {
            Tok::Str(s) => Literal::Text(s.clone()),
            Tok::Word("null") => Literal::Null,
            Tok::Word("true") => Literal::Bool(true),
            Tok::Word("false") => Literal::Bool(false),
            Tok::Num(raw) => {
                let raw = *raw;
                if raw.contains(['T', 't']) {
                    match parse_datetime(raw) {
                        Ok(t) => Literal::DateTime(t),
                        Err(_) => {
                            return self.error("a date-time such as 2026-11-28T10:00:00Z");
                        }
                    }
                } else if raw.len() == 10 && raw.as_bytes().get(4) == Some(&b'-') {
                    match parse_date(raw) {
                        Ok(d) => Literal::Date(d),
                        Err(_) => return self.error("a date such as 2026-11-28"),
                    }
                } else {
                    match number(raw) {
                        Some(d) => Literal::Number(d),
                        None => return self.error("a number such as 12 or -3.5"),
                    }
                }
            }
            _ => return self.error(VALUE),
        };
        self.bump()?;
        Ok(literal)
    }
}

/// A number `-?digits(.digits)?` that fits a decimal.
fn number(raw: &str) -> Option<Decimal> {
    let digits = raw.strip_prefix('-').unwrap_or(raw);
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, "0"));
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(whole) || !all_digits(fraction) {
        return None;
    }
    raw.parse().ok()
}

fn one_or(mut terms: Vec<Filter>, many: fn(Vec<Filter>) -> Filter) -> Filter {
    if terms.len() == 1 {
        terms.pop().expect("one term is there")
    } else {
        many(terms)
    }
}

pub(super) fn filter(text: &str) -> Result<Filter, QueryError> {
    let mut parser = Parser::new(text, Part::Filter)?;
    let filter = parser.or()?;
    if parser.tok.tok != Tok::End {
        return parser.error("'and', 'or' or the end");
    }
    Ok(filter)
}

pub(super) fn select(text: &str) -> Result<Vec<FieldName>, QueryError> {
    let mut parser = Parser::new(text, Part::Select)?;
    let mut fields = vec![parser.field("a field name")?];
    loop {
        match parser.tok.tok {
            Tok::End => return Ok(fields),
            Tok::Comma => {
                parser.bump()?;
                fields.push(parser.field("a field name")?);
            }
            _ => return parser.error("',' or the end"),
        }
    }
}

pub(super) fn order_by(text: &str) -> Result<Vec<(FieldName, SortDir)>, QueryError> {
    let mut parser = Parser::new(text, Part::OrderBy)?;
    let mut keys = Vec::new();
    loop {
        let field = parser.field("a field name")?;
        let dir = if parser.is_word("asc") {
            parser.bump()?;
            SortDir::Asc
        } else if parser.is_word("desc") {
            parser.bump()?;
            SortDir::Desc
        } else {
            SortDir::Asc
        };
        keys.push((field, dir));
        match parser.tok.tok {
            Tok::End => return Ok(keys),
            Tok::Comma => {
                parser.bump()?;
            }
            _ => return parser.error("'asc', 'desc', ',' or the end"),
        }
    }
}

pub(super) fn top(text: &str) -> Result<u32, QueryError> {
    let start = text.len() - text.trim_start().len();
    let trimmed = text.trim();
    let bad = |at: usize, found: String| QueryError {
        part: Part::Top,
        at,
        problem: Problem::Expected {
            expected: "a whole number from 1 to 4294967295",
            found,
        },
    };
    if let Some(i) = trimmed.find(|c: char| !c.is_ascii_digit()) {
        let c = trimmed[i..]
            .chars()
            .next()
            .expect("find returned a char here");
        return Err(bad(start + i, format!("'{c}'")));
    }
    match trimmed.parse::<u32>() {
        Ok(n) if n >= 1 => Ok(n),
        _ if trimmed.is_empty() => Err(bad(start, "the end".to_owned())),
        _ => Err(bad(start, describe_word(trimmed))),
    }
}

#[cfg(test)]
mod tests;
