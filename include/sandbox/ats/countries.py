"""Bullhorn's Country table: every country's id, code and name, as the fixture of Bullhorn's own
Java SDK (bullhorn/sdk-rest, ``src/test/resources/testdata/rest/country-data.txt``) has them, in
its order (by name, "- None Specified -" first). Bullhorn's codes are its own, not always ISO
3166 (the United Kingdom is ``UK``, Serbia ``RI``, Gibraltar ``G999``); its names are padded with
spaces to 64 characters. ``address.countryID`` of a Candidate is one of these ids.
"""

from __future__ import annotations

#: Bullhorn's default ``countryID`` (a new record's address is in the United States).
UNITED_STATES = 1
#: The width Bullhorn pads a country's name to.
NAME_WIDTH = 64

_TABLE = """
2378 NONE - None Specified -
2185 AF Afghanistan
2407 AX Åland Islands
2186 AL Albania
2187 DZ Algeria
2408 AS American Samoa
2188 AD Andorra
2189 AO Angola
2409 AI Anguilla
2190 AQ Antarctica
2191 AG Antigua and Barbuda
2192 AR Argentina
2193 AM Armenia
2373 AB Aruba
2194 AU Australia
2195 AT Austria
2196 AZ Azerbaijan
2197 BS Bahamas
2198 BH Bahrain
2199 BD Bangladesh
2200 BB Barbados
2201 BY Belarus
2202 BE Belgium
2203 BZ Belize
2204 BJ Benin
2372 BU Bermuda
2205 BT Bhutan
2206 BO Bolivia; Plurinational State
2207 BA Bosnia and Herzegovina
2208 BW Botswana
2410 BV Bouvet Island
2209 BR Brazil
2411 IO British Indian Ocean Territory
2210 BN Brunei Darussalam
2211 BG Bulgaria
2212 BF Burkina Faso
2385 BM Burma
2213 BI Burundi
2214 KH Cambodia
2215 CM Cameroon
2216 CA Canada
2217 CV Cape Verde
2379 KY Cayman Islands
2218 CF Central African Republic
2219 TD Chad
2386 CH99 Channel Islands
2220 CL Chile
2221 CN China
2412 CX Christmas Island
2413 CC Cocos (Keeling) Islands
2222 CO Colombia
2223 KM Comoros
2368 ZR Congo; Democratic Republic of
2383 CG Congo; Republic of
2414 CK Cook Islands
2226 CR Costa Rica
2227 CI Cote D'Ivoire
2228 HR Croatia
2229 CU Cuba
2387 C999 Curacao
2230 CY Cyprus
2231 CZ Czech Republic
2232 DK Denmark
2233 DJ Djibouti
2234 DM Dominica
2235 DO Dominican Republic
2236 EC Ecuador
2237 EG Egypt
2238 SV El Salvador
2239 GQ Equatorial Guinea
2240 ER Eritrea
2241 EE Estonia
2242 ET Ethiopia
2415 FK Falkland Islands (Malvinas)
2388 FI99 Faroe Islands
2243 FJ Fiji
2244 FI Finland
2245 FR France
2416 GF French Guiana
2417 PF French Polynesia
2418 TF French Southern Territories
2246 GA Gabon
2389 GM Gambia
2248 GE Georgia
2249 DE Germany
2250 GH Ghana
2390 G999 Gibraltar
2251 GR Greece
2252 GL Greenland
2253 GD Grenada
2419 GP Guadeloupe
2376 GU Guam
2371 GT Guatemala
2420 GG Guernsey
2255 GN Guinea
2256 GW Guinea-Bissau
2257 GY Guyana
2258 HT Haiti
2421 HM Heard and McDonald Islands
2362 VA Holy See (Vatican City State)
2259 HN Honduras
2377 HK Hong Kong
2260 HU Hungary
2261 IS Iceland
2262 IN India
2263 ID Indonesia
2264 IR Iran; Islamic Republic of
2265 IQ Iraq
2266 IE Ireland
2445 IM Isle of Man
2267 IL Israel
2268 IT Italy
2269 JM Jamaica
2270 JP Japan
2422 JE Jersey
2271 JO Jordan
2272 KZ Kazakhstan
2273 KE Kenya
2391 KI Kiribati
2274 KP Korea; Democratic People's Republic Of (North)
2275 KR Korea; Republic Of (South)
2392 KV Kosovo
2276 KW Kuwait
2277 KG Kyrgyzstan
2278 LA Lao People's Democratic Republic
2279 LV Latvia
2280 LB Lebanon
2281 LS Lesotho
2282 LR Liberia
2380 LY Libyan Arab Jamahiriya
2284 LI Liechtenstein
2285 LT Lithuania
2286 LU Luxembourg
2287 MO Macau
2288 MK Macedonia
2367 YU Macedonia; the Former Yugoslav Republic
2289 MG Madagascar
2290 MW Malawi
2291 MY Malaysia
2384 MV Maldives; Repulic of
2292 ML Mali
2293 MT Malta
2394 RM Marshall Islands
2423 MQ Martinique
2294 MR Mauritania
2295 MU Mauritius
2393 M999 Mayotte
2296 MX Mexico
2297 FM Micronesia; Federated States of
2395 MD Moldova; Republic of
2299 MC Monaco
2300 MN Mongolia
2396 MJ Montenegro
2424 MS Montserrat
2301 MA Morocco
2302 MZ Mozambique
2303 MM Myanmar
2304 NA Namibia
2397 NR Nauru
2305 NP Nepal
2306 NL Netherlands
2425 AN Netherlands Antilles
2426 NC New Caledonia
2307 NZ New Zealand
2308 NI Nicaragua
2309 NE Niger
2310 NG Nigeria
2427 NU Niue
2428 NF Norfolk Island
2429 MP Northern Mariana Islands
2311 NO Norway
2312 OM Oman
2313 PK Pakistan
2314 PW Palau
2430 PS Palestinian Territory; Occupied
2315 PA Panama
2316 PG Papua New Guinea
2317 PY Paraguay
2318 PE Peru
2319 PH Philippines
2431 PN Pitcairn
2320 PL Poland
2321 PT Portugal
2374 PR Puerto Rico
2322 QA Qatar
2398 R999 Reunion
2323 RO Romania
2324 RU Russian Federation
2325 RW Rwanda
2432 BL Saint Barthélemy
2433 SH Saint Helena; Ascension and Tristan Da Cunha
2399 KN Saint Kitts and Nevis
2326 LC Saint Lucia
2434 MF Saint Martin
2435 PM Saint Pierre And Miquelon
2400 VC Saint Vincent and Grenadines
2401 WS Samoa
2327 SM San Marino
2403 TP Sao Tome and Principe
2328 SA Saudi Arabia
2329 SN Senegal
2402 RI Serbia
2331 SC Seychelles
2332 SL Sierra Leone
2333 SG Singapore
2334 SK Slovakia
2335 SI Slovenia
2336 SB Solomon Islands
2337 SO Somalia
2338 ZA South Africa
2436 GS South Georgia and the South Sandwich Islands
2339 ES Spain
2340 LK Sri Lanka
2341 SD Sudan
2342 SR Suriname
2437 SJ Svalbard And Jan Mayen
2343 SZ Swaziland
2344 SE Sweden
2345 CH Switzerland
2381 SY Syrian Arab Republic
2375 TW Taiwan
2348 TJ Tajikistan
2349 TZ Tanzania
2350 TH Thailand
2404 TL Timor-Leste
2351 TG Togo
2438 TK Tokelau
2405 TO Tonga
2352 TT Trinidad and Tobago
2353 TN Tunisia
2354 TR Turkey
2355 TM Turkmenistan
2439 TC Turks and Caicos Islands
2440 TV Tuvalu
2356 UG Uganda
2357 UA Ukraine
2358 AE United Arab Emirates
2359 UK United Kingdom
1 US United States
2441 UM United States Minor Outlying Islands
2360 UY Uruguay
2361 UZ Uzbekistan
2406 NH Vanuatu
2363 VE Venezuela; Bolivarian Republic of
2364 VN Viet Nam
2446 VG Virgin Islands; British
2442 VI Virgin Islands; U.S.
2443 WF Wallis and Futuna
2444 EH Western Sahara
2382 YE Yemen
2369 ZM Zambia
2370 ZW Zimbabwe
"""

#: (id, code, name) of every country, names unpadded.
COUNTRY_ROWS: tuple[tuple[int, str, str], ...] = tuple(
    (int(number), code, name)
    for number, code, name in (line.split(" ", 2) for line in _TABLE.strip().splitlines())
)
