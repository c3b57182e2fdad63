"""How Chinese policy text numbers its parts, shared by the chunker (headings), the clause
locators of citations and the extractive answer (where a quoted item ends)."""

# A Chinese numeral as headings write it: 三, 十二, 一百零五, 两.
CN_NUM = "[一二三四五六七八九十百零〇两]+"
