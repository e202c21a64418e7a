"""The operator's admin pages: server-rendered HTML under /admin/, live over
server-sent events, every action a plain form POST that small scripts enhance."""
