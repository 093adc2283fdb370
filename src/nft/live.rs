//! Reading nft's JSON listing: picking our table's objects out of it, and normalising
//! objects so that the live table and the compiled one compare equal when they mean the same.
//!
//! Normalising drops what the kernel adds or reorders but the policy does not decide:
//! handles, counter values, the order of anonymous-set elements (nft sorts them by value),
//! and how address intervals are split (nft merges adjacent elements).

use std::net::IpAddr;

use ipnet::IpNet;
use nftables::expr::{Expression, NamedExpression, SetItem};
use nftables::schema::{NfListObject, SetType, SetTypeValue};
use nftables::stmt::{AnonymousCounter, Counter, Statement};
use serde::Deserialize;
use serde_json::Value;

use super::compile::addr_expr;
use super::intervals::{self, Family, Interval};

/// An object of our table, or one portcullis could not read (kept so that it shows).
#[derive(Debug, Clone, PartialEq)]
pub enum LiveObject {
    Known(NfListObject<'static>),
    Unknown { kind: String, json: Value },
}

#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error("nft printed JSON that portcullis cannot read: {0}")]
    Json(#[from] serde_json::Error),
    #[error("nft's JSON output has no \"nftables\" array")]
    Shape,
}

/// The objects of `table inet NAME` in an nft JSON listing (ruleset, tables or one table).
/// Empty when the table does not exist.
pub fn table_objects(listing: &str, table: &str) -> Result<Vec<LiveObject>, LiveError> {
    objects_of(&parse(listing)?, table)
}

/// Parses an nft JSON listing once, for callers that read several things from it.
pub fn parse(listing: &str) -> Result<Value, LiveError> {
    let doc: Value = serde_json::from_str(listing)?;
    if doc.get("nftables").and_then(Value::as_array).is_none() {
        return Err(LiveError::Shape);
    }
    Ok(doc)
}

/// The objects of `table inet NAME` in a parsed listing.
pub fn objects_of(doc: &Value, table: &str) -> Result<Vec<LiveObject>, LiveError> {
    let items = doc
        .get("nftables")
        .and_then(Value::as_array)
        .ok_or(LiveError::Shape)?;
    let mut out = Vec::new();
    for item in items {
        let Some((kind, body)) = item.as_object().and_then(|o| o.iter().next()) else {
            continue;
        };
        let owner = if kind == "table" {
            body.get("name")
        } else {
            body.get("table")
        };
        let ours = body.get("family").and_then(Value::as_str) == Some("inet")
            && owner.and_then(Value::as_str) == Some(table);
        if !ours {
            continue;
        }
        match NfListObject::deserialize(item) {
            Ok(object) => out.push(LiveObject::Known(object)),
            Err(_) => out.push(LiveObject::Unknown {
                kind: kind.clone(),
                json: body.clone(),
            }),
        }
    }
    Ok(out)
}

/// Whether a listing contains `table inet NAME`.
pub fn has_table(objects: &[LiveObject]) -> bool {
    objects
        .iter()
        .any(|o| matches!(o, LiveObject::Known(NfListObject::Table(_))))
}

/// Brings an object to the form used for comparison.
pub fn normalize(object: &NfListObject<'static>) -> NfListObject<'static> {
    let mut object = object.clone();
    match &mut object {
        NfListObject::Table(t) => t.handle = None,
        NfListObject::Chain(c) => c.handle = None,
        NfListObject::Set(s) => {
            s.handle = None;
            let family = match s.set_type {
                SetTypeValue::Single(SetType::Ipv4Addr) => Some(Family::V4),
                SetTypeValue::Single(SetType::Ipv6Addr) => Some(Family::V6),
                _ => None,
            };
            if let (Some(family), Some(elem)) = (family, &s.elem)
                && let Some(list) = elem.iter().map(addr_interval).collect::<Option<Vec<_>>>()
            {
                let merged = intervals::merge(list);
                s.elem = Some(
                    merged
                        .into_iter()
                        .map(|iv| addr_expr(intervals::addr_element(family, iv)))
                        .collect::<Vec<_>>()
                        .into(),
                );
            }
        }
        NfListObject::Rule(r) => {
            r.handle = None;
            r.index = None;
            let stmts: Vec<Statement<'static>> =
                r.expr.iter().cloned().map(normalize_stmt).collect();
            r.expr = stmts.into();
        }
        _ => {}
    }
    object
}

fn normalize_stmt(stmt: Statement<'static>) -> Statement<'static> {
    match stmt {
        Statement::Counter(Counter::Anonymous(_)) => {
            Statement::Counter(Counter::Anonymous(Some(AnonymousCounter::default())))
        }
        Statement::Match(mut m) => {
            sort_anonymous_sets(&mut m.left);
            sort_anonymous_sets(&mut m.right);
            Statement::Match(m)
        }
        other => other,
    }
}

fn sort_anonymous_sets(e: &mut Expression<'static>) {
    if let Expression::Named(NamedExpression::Set(items)) = e {
        items.sort_by_cached_key(|item| match item {
            SetItem::Element(e) => sort_key(e),
            other => vec![(9, 0, serde_json::to_string(other).unwrap_or_default())],
        });
    }
}

/// Orders numbers and addresses by value, names alphabetically, concatenations part by part.
fn sort_key(e: &Expression<'_>) -> Vec<(u8, u128, String)> {
    match e {
        Expression::Number(n) => vec![(0, *n as u128, String::new())],
        Expression::String(s) => match s.parse::<IpAddr>() {
            Ok(IpAddr::V4(a)) => vec![(1, u32::from(a) as u128, String::new())],
            Ok(IpAddr::V6(a)) => vec![(2, u128::from(a), String::new())],
            Err(_) => vec![(3, 0, s.to_string())],
        },
        Expression::Range(r) => sort_key(&r.range[0]),
        Expression::Named(NamedExpression::Prefix(p)) => sort_key(&p.addr),
        Expression::Named(NamedExpression::Concat(items)) => {
            items.iter().flat_map(sort_key).collect()
        }
        other => vec![(9, 0, serde_json::to_string(other).unwrap_or_default())],
    }
}

/// A copy of a set without its elements (which are not copied: 100,000 of them cost).
pub fn without_elements(set: &nftables::schema::Set<'static>) -> nftables::schema::Set<'static> {
    nftables::schema::Set {
        family: set.family,
        table: set.table.clone(),
        name: set.name.clone(),
        handle: set.handle,
        set_type: set.set_type.clone(),
        policy: set.policy,
        flags: set.flags.clone(),
        elem: None,
        timeout: set.timeout,
        gc_interval: set.gc_interval,
        size: set.size,
        comment: set.comment.clone(),
    }
}

/// The address family of a set of addresses (None for any other set).
pub fn set_family(set: &nftables::schema::Set<'_>) -> Option<Family> {
    match set.set_type {
        SetTypeValue::Single(SetType::Ipv4Addr) => Some(Family::V4),
        SetTypeValue::Single(SetType::Ipv6Addr) => Some(Family::V6),
        _ => None,
    }
}

/// A set's elements as merged intervals: empty for a set without elements (as a terse
/// listing shows every set), None if one is not an address portcullis can read.
pub fn set_intervals(set: &nftables::schema::Set<'_>) -> Option<Vec<Interval>> {
    match &set.elem {
        None => Some(Vec::new()),
        Some(elem) => elem
            .iter()
            .map(addr_interval)
            .collect::<Option<Vec<_>>>()
            .map(intervals::merge),
    }
}

/// An address set element as an interval, or None if it is not one we can read.
fn addr_interval(e: &Expression<'_>) -> Option<Interval> {
    let addr = |e: &Expression<'_>| match e {
        Expression::String(s) => s.parse::<IpAddr>().ok(),
        _ => None,
    };
    match e {
        Expression::String(_) => addr(e).map(|a| intervals::net_interval(&IpNet::from(a))),
        Expression::Named(NamedExpression::Prefix(p)) => {
            let net = IpNet::new(addr(&p.addr)?, u8::try_from(p.len).ok()?).ok()?;
            Some(intervals::net_interval(&net.trunc()))
        }
        Expression::Range(r) => {
            let lo = intervals::net_interval(&IpNet::from(addr(&r.range[0])?)).0;
            let hi = intervals::net_interval(&IpNet::from(addr(&r.range[1])?)).0;
            (lo <= hi).then_some((lo, hi))
        }
        _ => None,
    }
}
