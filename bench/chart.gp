# bench/chart.gp: requests/s and p99 at c=50 per contender (median, min-max bars), from the data
# file bench/report.py writes. gnuplot -e "dat='...'; out='...'" chart.gp
set terminal pngcairo size 1500,650 font "DejaVu Sans,10"
set output out
set termoption noenhanced
set multiplot layout 1,2 title "lienthong vs nginx, njs, Node.js — wrk c=50, keep-alive POST of a 1.5 KB dossier (median, min–max)"
set style data histograms
set style histogram errorbars gap 1 lw 1.5
set style fill solid 0.7 border -1
set boxwidth 0.8
set grid ytics
set xtics rotate by -35 left
set bmargin 9
set rmargin 16
set key off
set yrange [0:*]
set title "requests per second (higher is better)"
plot dat using 2:3:4:xtic(1) linecolor rgb "#3b78b0"
set title "p99 latency, ms (lower is better)"
plot dat using 5:6:7:xtic(1) linecolor rgb "#c0504d"
unset multiplot
