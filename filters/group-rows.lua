-- A table's group rows ("Leukemia-free survival (patients in CR, n = 86; 69 events)", a
-- family of the p-value table) have their label in the first column and nothing else. In
-- the PDF that column is narrow: the label broke over two lines, and its end read as a row
-- of its own, without a label. analysis/report/tables.py marks such a label as
-- [**label**]{.cx-group}; in Typst it is printed on one line across the row's empty cells
-- (placed over them, with an invisible line keeping the row's height). Other formats keep
-- the label as it is (the HTML tables are great_tables' own, with real group rows).
-- Runs in Quarto and in the built-in renderer (the same _quarto.yml `filters:`).

function Span(el)
  if not el.classes:includes("cx-group") then
    return nil
  end
  if FORMAT:match("typst") == nil then
    return el.content
  end
  local out = pandoc.Inlines({pandoc.RawInline("typst", "#hide[X]#place(top + left, box(width: 100cm)[")})
  out:extend(el.content)
  out:insert(pandoc.RawInline("typst", "])"))
  return out
end
