//! Column widths for a table of text that must not cut a value silently: each column as
//! wide as its widest cell and header; where the table is too narrow, shorter headers
//! first, then whole columns give way (in the order given), then the widest cuttable
//! columns shrink, their cells ending in `…`; spare width goes to the columns that grow.
//! Pure.

use super::format;

/// One column of a table.
#[derive(Debug, Clone)]
pub struct Column<'a> {
    /// Headers from the longest to the shortest: the longest that fits is shown.
    pub headers: &'a [&'a str],
    /// Its cells, as they would be shown whole.
    pub widest: u16,
    /// Narrowest it may become by cutting; also its least width.
    pub min: u16,
    /// When it gives way as a whole, lowest first; None for never.
    pub drop_rank: Option<u8>,
    /// Whether spare width goes to it.
    pub grows: bool,
}

impl Column<'_> {
    /// As wide as its widest cell and its longest header.
    fn natural(&self) -> u16 {
        let longest = self.headers.iter().map(|h| width_of(h)).max().unwrap_or(0);
        self.widest.max(longest).max(self.min)
    }

    /// As wide as its widest cell and its shortest header.
    fn compact(&self) -> u16 {
        let shortest = self.headers.iter().map(|h| width_of(h)).min().unwrap_or(0);
        self.widest.max(shortest).max(self.min)
    }

    /// The header for `width`: the longest that fits, else the shortest cut with `…`.
    pub fn header(&self, width: u16) -> String {
        self.headers
            .iter()
            .find(|h| width_of(h) <= width)
            .map_or_else(
                || format::fit(self.headers.last().copied().unwrap_or(""), width.into()),
                |h| h.to_string(),
            )
    }
}

fn width_of(text: &str) -> u16 {
    u16::try_from(text.chars().count()).unwrap_or(u16::MAX)
}

/// The text of `cells` as wide as a column holds it: `widest` for [`Column::widest`].
pub fn widest<'s>(cells: impl IntoIterator<Item = &'s str>) -> u16 {
    cells.into_iter().map(width_of).max().unwrap_or(0)
}

/// Each column's width in `width` with `spacing` between shown columns; None where the
/// column gave way.
pub fn fit(columns: &[Column], width: u16, spacing: u16) -> Vec<Option<u16>> {
    let mut widths: Vec<Option<u16>> = columns.iter().map(|c| Some(c.natural())).collect();
    let total = |widths: &[Option<u16>]| -> u32 {
        let shown: Vec<u32> = widths.iter().flatten().map(|w| u32::from(*w)).collect();
        shown.iter().sum::<u32>() + u32::from(spacing) * (shown.len().saturating_sub(1) as u32)
    };
    let width32 = u32::from(width);
    // Shorter headers first, from the right.
    for i in (0..columns.len()).rev() {
        if total(&widths) <= width32 {
            break;
        }
        widths[i] = Some(columns[i].compact());
    }
    // Then whole columns, in their rank order.
    let mut ranked: Vec<(u8, usize)> = columns
        .iter()
        .enumerate()
        .filter_map(|(i, c)| c.drop_rank.map(|r| (r, i)))
        .collect();
    ranked.sort();
    for (_, i) in ranked {
        if total(&widths) <= width32 {
            break;
        }
        widths[i] = None;
    }
    // Then the widest column that can still shrink, one cell at a time.
    while total(&widths) > width32 {
        let widest = widths
            .iter()
            .enumerate()
            .filter_map(|(i, w)| w.map(|w| (w, i)))
            .filter(|&(w, i)| w > columns[i].min)
            .max();
        let Some((_, i)) = widest else { break };
        widths[i] = widths[i].map(|w| w - 1);
    }
    // Spare width to the growing columns, evenly.
    let growing: Vec<usize> = (0..columns.len())
        .filter(|&i| columns[i].grows && widths[i].is_some())
        .collect();
    let spare = width32.saturating_sub(total(&widths));
    if !growing.is_empty() && spare > 0 {
        let each = spare / growing.len() as u32;
        let extra = spare % growing.len() as u32;
        for (n, &i) in growing.iter().enumerate() {
            let add = each + u32::from((n as u32) < extra);
            widths[i] = widths[i].map(|w| w.saturating_add(u16::try_from(add).unwrap_or(0)));
        }
    }
    widths
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column<'a>(
        headers: &'a [&'a str],
        widest: u16,
        min: u16,
        drop_rank: Option<u8>,
    ) -> Column<'a> {
        Column {
            headers,
            widest,
            min,
            drop_rank,
            grows: false,
        }
    }

    #[test]
    fn whole_columns_give_way_before_any_value_is_cut() {
        let columns = [
            column(&["NAME"], 10, 10, None),
            column(&["PORTS"], 20, 5, None),
            column(&["INTERFACES"], 0, 10, Some(1)),
        ];
        // 10 + 1 + 20 + 1 + 10 = 42: the interfaces go first.
        assert_eq!(fit(&columns, 35, 1), [Some(10), Some(20), None]);
        // Then the ports are cut, never below their minimum.
        assert_eq!(fit(&columns, 25, 1), [Some(10), Some(14), None]);
        assert_eq!(fit(&columns, 5, 1), [Some(10), Some(5), None]);
    }

    #[test]
    fn spare_width_goes_to_the_growing_columns_and_headers_shorten() {
        let mut columns = [
            column(&["ALLOW (→ out: TO)", "ALLOW"], 6, 5, None),
            column(&["USED BY"], 5, 5, None),
        ];
        columns[0].grows = true;
        columns[1].grows = true;
        assert_eq!(fit(&columns, 21, 1), [Some(10), Some(10)]);
        assert_eq!(columns[0].header(10), "ALLOW");
        assert_eq!(columns[0].header(17), "ALLOW (→ out: TO)");
        assert_eq!(columns[0].header(3), "AL…");
    }
}
