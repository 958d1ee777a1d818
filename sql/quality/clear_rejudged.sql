-- quality.quarantine: the records judged again on request are staged now (the released ones)
-- or stay in quarantine (the others): nothing left to do for them
update quality.quarantine
set rejudged_at = null
where rejudged_at is not null
