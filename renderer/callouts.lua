-- Quarto-style callouts (`::: {.callout-warning}` with `## Title` or title="...")
-- as a visibly styled box in every output format.
local default_titles = {note = "Note", warning = "Warning", important = "Important",
                        tip = "Tip", caution = "Caution"}
local colors = {note = "#0d6efd", warning = "#e0a800", important = "#dc3545",
                tip = "#198754", caution = "#fd7e14"}

function Div(el)
  local kind = nil
  for _, c in ipairs(el.classes) do
    local k = c:match("^callout%-(%a+)$")
    if k and default_titles[k] then kind = k end
  end
  if not kind then return nil end
  local blocks = el.content
  local title
  if el.attributes["title"] then
    title = pandoc.read(el.attributes["title"], "markdown").blocks[1]
    title = title and title.content or pandoc.Inlines(el.attributes["title"])
  elseif #blocks > 0 and blocks[1].t == "Header" then
    title = blocks[1].content
    blocks = pandoc.Blocks({table.unpack(blocks, 2)})
  else
    title = pandoc.Inlines(default_titles[kind])
  end
  if FORMAT:match("html") then
    return pandoc.Div({pandoc.Div(pandoc.Plain(title), {class = "callout-title"}),
                       pandoc.Div(blocks, {class = "callout-body"})},
                      {id = el.identifier, class = "callout callout-" .. kind})
  elseif FORMAT:match("typst") then
    local out = {pandoc.RawBlock("typst",
      '#block(width: 100%, inset: 8pt, radius: 2pt, fill: rgb("' .. colors[kind] .. '").lighten(88%), ' ..
      'stroke: (left: 3pt + rgb("' .. colors[kind] .. '")), breakable: true)[')}
    table.insert(out, pandoc.Para({pandoc.Strong(title)}))
    for _, b in ipairs(blocks) do table.insert(out, b) end
    table.insert(out, pandoc.RawBlock("typst", "]"))
    return out
  else
    local out = {pandoc.Para({pandoc.Strong(title)})}
    for _, b in ipairs(blocks) do table.insert(out, b) end
    return pandoc.Div(out, {id = el.identifier, ["custom-style"] = "Callout"})
  end
end
