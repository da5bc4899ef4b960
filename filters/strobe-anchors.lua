-- STROBE anchors: an empty span []{.strobe items="12c 12d"} marks the sentence (or, alone in
-- its paragraph after a figure or table, the display) that meets STROBE items, so that the
-- supplement's checklist (Table S1) points to its page (analysis/report/documents.py reads
-- the same spans from the sources).
--
-- Typst: each item becomes an invisible, unnumbered, unlisted heading labelled
-- <strobe-12c>, placed where the span is: it takes no room and prints nothing, and its
-- label is a named destination of the PDF (the renderers read the page of every labelled
-- heading there; Typst finds those of its own document with query()). Inside a paragraph it
-- sits in a zero-width box, so that the paragraph is not broken; a paragraph of anchors
-- alone becomes a block of them. Other formats: the spans are dropped (an anchor alone in
-- its paragraph leaves no empty paragraph).
-- Runs in Quarto and in the built-in renderer (the same _quarto.yml `filters:`).

local function is_anchor(el)
  return el.t == "Span" and el.classes:includes("strobe") and #el.content == 0
end

local function headings(el)
  local out = {}
  for item in (el.attributes["items"] or ""):gmatch("%S+") do
    item = item:gsub(":partial$", "")
    table.insert(out, "#heading(level: 6, outlined: false, bookmarked: false, numbering: none)[] <strobe-"
      .. item .. ">")
  end
  return table.concat(out, " ")
end

local function typst()
  return FORMAT:match("typst") ~= nil
end

function Para(el)
  local anchors, other = {}, false
  for _, inline in ipairs(el.content) do
    if is_anchor(inline) then
      table.insert(anchors, inline)
    elseif inline.t ~= "Space" and inline.t ~= "SoftBreak" and inline.t ~= "LineBreak" then
      other = true
    end
  end
  if #anchors == 0 or other then
    return nil
  end
  if not typst() then
    return {}
  end
  local blocks = {}
  for _, anchor in ipairs(anchors) do
    table.insert(blocks, pandoc.RawBlock("typst", "#place(hide[" .. headings(anchor) .. "])"))
  end
  return blocks
end

function Span(el)
  if not is_anchor(el) then
    return nil
  end
  if typst() then
    return pandoc.RawInline("typst", "#box(place(hide[" .. headings(el) .. "]))")
  end
  return {}
end

-- Paragraphs first (an anchor alone in its paragraph is a block), then the spans in text.
return {{Para = Para}, {Span = Span}}
