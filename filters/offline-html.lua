-- The HTML report must open offline and load no third-party script.
-- Quarto puts require.js and jQuery from cdn.jsdelivr.net into the HTML head whenever a
-- notebook output has text/html (our great-tables output), although nothing in the
-- report uses them. Drop every remote <script src=…>/<link href=…> from the header
-- includes, and the define('jquery') shim that only works with require.js.
-- Runs in Quarto (at: post-finalize) and in the built-in renderer (same _quarto.yml).
local REMOTE_SCRIPT = '<script[^>]-%ssrc="https?://[^"]*"[^>]*>%s*</script>'
local REMOTE_LINK = '<link[^>]-%shref="https?://[^"]*"[^>]*>'
local JQUERY_SHIM = "<script[^>]*>%s*define%('jquery'.-</script>"

local function strip(text)
  local n1, n2, n3
  text, n1 = text:gsub(REMOTE_SCRIPT, "")
  text, n2 = text:gsub(REMOTE_LINK, "")
  text, n3 = text:gsub(JQUERY_SHIM, "")
  return text, n1 + n2 + n3
end

local function clean_blocks(blocks)
  return blocks:walk({
    RawBlock = function(el)
      if el.format:match("html") then
        local text, n = strip(el.text)
        if n > 0 then return pandoc.RawBlock(el.format, text) end
      end
    end,
    RawInline = function(el)
      if el.format:match("html") then
        local text, n = strip(el.text)
        if n > 0 then return pandoc.RawInline(el.format, text) end
      end
    end,
  })
end

-- Figures wider than the text column (the forest plot, the flow diagram, the swimmer plot:
-- Quarto writes their pixel width) are scaled down to it instead of being clipped.
local FIT_FIGURES = "<style>figure img, img.figure-img { max-width: 100%; height: auto; }</style>"

function Meta(meta)
  if not FORMAT:match("html") then return nil end
  -- The page's <title> is the study's title: the title block chunk sets `title` (and
  -- `pagetitle`) in a metadata block, after Quarto took `pagetitle` from the file name.
  if meta.title ~= nil then
    meta.pagetitle = pandoc.utils.stringify(meta.title)
  end
  local includes = meta["header-includes"]
  local fit = pandoc.Blocks({pandoc.RawBlock("html", FIT_FIGURES)})
  if includes == nil then
    meta["header-includes"] = pandoc.List({fit})
  elseif pandoc.utils.type(includes) == "List" then
    includes:insert(fit)
  else
    meta["header-includes"] = pandoc.List({includes, fit})
  end
  for _, key in ipairs({"header-includes", "include-before", "include-after"}) do
    local value = meta[key]
    if value ~= nil then
      if pandoc.utils.type(value) == "List" then
        for i, item in ipairs(value) do
          if pandoc.utils.type(item) == "Blocks" then value[i] = clean_blocks(item) end
        end
      elseif pandoc.utils.type(value) == "Blocks" then
        meta[key] = clean_blocks(value)
      end
    end
  end
  return meta
end
