-- one row: the number of rows of the mart {{ table }} (an identifier)
select count(*) as row_count from {{ table }}
