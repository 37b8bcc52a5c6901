"""Japanese for the course's messages (``helpers.course.messages``): English sentence → 日本語.

Keys are the English exactly as the code writes it, with ``{}`` for each value an f-string fills in;
a translation places those values with ``{}`` (in order) or ``{0}``, ``{1}``, ... (any order). A value
that is itself a key (a hint, a case's name, a cause) is translated too, so those have entries of their
own; a key made of fields and punctuation alone (``"{}: {}"``) only lets its values be translated.
Style and terms: translations/ja/glossary.md (です・ます調, full-width punctuation, a half-width space
around Latin words, numbers and code, which stay as in English).
tests/course/test_messages.py checks that every key is still a sentence the code can say, that every
checker's sentence has an entry, and that the fields match.
"""

MESSAGES = {
    # checks/report.py: the frame of every checker's line
    "not done yet": "まだ完成していません",
    "Continuing with {} for now.": "ひとまず {} で先へ進みます。",
    "calling your code raised {}": "あなたのコードを呼び出すと {} が発生しました",
    "calling your code raised {} (line {}: {})": "あなたのコードを呼び出すと {} が発生しました（{} 行目: {}）",
    "your function raises NotImplementedError": "関数が NotImplementedError を送出しています",
    # checks/attention.py
    "the naive_softmax cell above shows what exp does to scores near 1000; a softmax does not change when every "
    "score of a row moves by the same amount":
        "上の naive_softmax のセルで、1000 近くのスコアに exp が何をするかを確かめてください。"
        "行のスコアがすべて同じだけずれても、ソフトマックスの値は変わりません",
    "expected a tensor of shape {}, got {}": "形状 {} のテンソルになるはずですが、{} が返りました",
    "some weights are inf or NaN: exp of a score near 1000 overflows; shift each row before exp so that its largest "
    "score becomes 0":
        "重みの一部が inf か NaN です。1000 近くのスコアの exp はオーバーフローします。exp の前に各行をずらし、"
        "行の最大のスコアが 0 になるようにしてください",
    "the rows do not sum to 1: normalise over the last axis, and keep that axis (keepdim) so that the division goes "
    "row by row":
        "行の和が 1 になっていません。最後の軸で正規化し、"
        "割り算が行ごとに行われるようにその軸を残してください（keepdim）",
    "finite and summing to 1, but not the softmax: compare yours with torch.softmax on a short row, step by step":
        "有限で和も 1 ですが、ソフトマックスではありません。短い行で torch.softmax と一歩ずつ比べてください",
    "softmax matches torch.softmax and stays finite for scores near 1000":
        "softmax は torch.softmax と一致し、1000 近くのスコアでも有限のままです",
    "start with the scores, one number per key: a tensor of shape (S,); the formula above says what happens to them "
    "next":
        "まずスコアから始めましょう。キー 1 つにつき 1 つの数、形状 (S,) のテンソルです。"
        "その後どうするかは上の式に書いてあります",
    "expected a tensor of shape (3,) (one value-sized vector), got {}":
        "形状 (3,) のテンソル（バリュー 1 つ分のベクトル）になるはずですが、{} が返りました",
    "almost: divide the scores by sqrt(D), D = len(q)": "あと一歩です。スコアを sqrt(D) で割ってください（D = len(q)）",
    "divide the scores by sqrt(D), not by D": "スコアは D ではなく sqrt(D) で割ります",
    "that is the plain mean of V: each row of V should count with its key's weight":
        "それは V の単純な平均です。V の各行は、そのキーの重みで数える必要があります",
    "not the attention output: print each step's shape (scores and weights (S,), the weights summing to 1, the "
    "output (Dv,)) and check it against the formula":
        "アテンションの出力になっていません。各ステップの形状（スコアと重みは (S,)、重みの和は 1、出力は (Dv,)）"
        "を表示して、式と照らし合わせてください",
    "one query's attention output is right": "1 つのクエリに対するアテンションの出力は正しいです",
    "the same steps as attend_one, for all T queries at once: the scores now form a (..., T, S) matrix, one row per "
    "query":
        "attend_one と同じ手順を、T 個のクエリすべてに一度に行います。スコアは (..., T, S) の行列になり、1 行が 1 "
        "つのクエリです",
    "with {}: return two things, (output, weights); got {}":
        "{}の場合: (output, weights) の 2 つを返してください。返ったのは {} です",
    "with {}: weights should be (..., T, S) = {}, one row per query, got {}: rows and columns are swapped: one row "
    "per query, one column per key":
        "{}の場合: 重みは (..., T, S) = {}（1 行が 1 つのクエリ）のはずですが、{} が返りました。"
        "行と列が入れ替わっています。1 行が 1 つのクエリ、1 列が 1 つのキーです",
    "with {}: weights should be (..., T, S) = {}, one row per query, got {}":
        "{}の場合: 重みは (..., T, S) = {}（1 行が 1 つのクエリ）のはずですが、{} が返りました",
    "with {}: {}": "{}の場合: {}",
    "with {}: the weights differ from the course's; check each step on a small example (T = 2, S = 3)":
        "{}の場合: 重みがコースの実装と異なります。小さな例（T = 2, S = 3）で各ステップを確かめてください",
    "with {}: the output should be (..., T, Dv) = {}, got {}":
        "{}の場合: 出力は (..., T, Dv) = {} のはずですが、{} が返りました",
    "with {}: the weights are right but the output is not: each query's output mixes the rows of v with that query's "
    "weights":
        "{}の場合: 重みは正しいのに出力が違います。各クエリの出力は、v の行をそのクエリの重みで混ぜたものです",
    "attention matches helpers.models.attention.scaled_dot_product_attention, with and without masks":
        "アテンションは helpers.models.attention.scaled_dot_product_attention と、マスクがあってもなくても一致します",
    "draw the mask for T = 3 on paper (row i is query i): which triangle of the grid is True?":
        "T = 3 のマスクを紙に描いてみましょう（行 i がクエリ i）。格子のどちらの三角形が True でしょうか？",
    "mask_fn({}) should be a ({}, {}) tensor, got {}":
        "mask_fn({}) は ({}, {}) のテンソルのはずですが、{} が返りました",
    "got dtype {}: give a bool mask (True = may attend), e.g. with .bool()":
        "dtype が {} です。bool のマスク（True = アテンションしてよい）にしてください。たとえば .bool() を使います",
    "transposed: row i is query i, and it may see columns 0..i (on and below the diagonal)":
        "転置しています。行 i がクエリ i で、見てよいのは列 0..i（対角線とその下）です",
    "inverted: here True means 'may attend' (torch.nn.MultiheadAttention uses the opposite convention)":
        "反転しています。ここでは True が「アテンションしてよい」を意味します（torch.nn.MultiheadAttention "
        "は逆の約束です）",
    "off by one: the diagonal must be True, each token may look at itself":
        "1 つずれています。対角線は True でなければなりません。各トークンは自分自身を見てよいのです",
    "off by one: query i may see keys 0..i, not key i + 1 (that is the next token, the one to predict)":
        "1 つずれています。クエリ i が見てよいのはキー 0..i で、キー i + 1 ではありません（それは次のトークン、"
        "つまり予測すべきトークンです）",
    "query i (row i) may see keys 0..i (True) and none after it (False)":
        "クエリ i（行 i）はキー 0..i を見てよく（True）、その後のキーは見られません（False）",
    "causal mask is right": "因果マスクは正しいです",
    "keep the stub's layers: self.{} = nn.Linear(...) with a weight of shape {}":
        "スタブの層をそのまま使ってください: 重みの形状が {1} の self.{0} = nn.Linear(...)",
    "each head works on its own D = C // H channels; find the shape q, k and v must have for one call of attention "
    "to run every head at once":
        "各ヘッドは自分の D = C // H 個のチャネルだけを扱います。attention を 1 回呼ぶだけで全ヘッドを計算するには、"
        "q、k、v がどんな形状であればよいかを考えてください",
    "with {}: forward should return (output, weights), got {}":
        "{}の場合: forward は (output, weights) を返すはずですが、{} が返りました",
    "with {}: weights should be (B, H, T, T) = {}, one (T, T) map per head, got {}":
        "{}の場合: 重みは (B, H, T, T) = {}（ヘッドごとに (T, T) のマップ 1 枚）のはずですが、{} が返りました",
    "with {}: divide the scores by sqrt(D), D = d_model // n_heads the head size, not sqrt(d_model)":
        "{}の場合: スコアは sqrt(d_model) ではなく sqrt(D) で割ります。D = d_model // n_heads はヘッドのサイズです",
    "with {}: the heads are split wrongly: reshaping (B, T, C) straight to (B, H, T, D) mixes positions and "
    "channels; split the channel axis into heads first, then move the head axis":
        "{}の場合: ヘッドへの分け方が違います。(B, T, C) をそのまま (B, H, T, D) に reshape "
        "すると位置とチャネルが混ざります。まずチャネルの軸をヘッドに分け、それからヘッドの軸を移動してください",
    "with {}: pass the mask on to the attention": "{}の場合: マスクをアテンションに渡してください",
    "with {}: the weights differ from the course's; check the split into heads and the attention step":
        "{}の場合: 重みがコースの実装と異なります。ヘッドへの分け方とアテンションのステップを確かめてください",
    "with {}: the output should be (B, T, C) = {}, got {}":
        "{}の場合: 出力は (B, T, C) = {} のはずですが、{} が返りました",
    "with {}: finish with self.out_proj, which mixes what the heads found":
        "{}の場合: 最後に self.out_proj を適用してください。ヘッドたちが見つけたものを混ぜる層です",
    "with {}: transpose the heads' outputs back to (B, T, H, D) before reshaping to (B, T, C)":
        "{}の場合: (B, T, C) に reshape する前に、ヘッドの出力を (B, T, H, D) に転置し直してください",
    "with {}: the weights are right but the output is not: put the heads' outputs side by side ((B, T, C)) and apply "
    "self.out_proj":
        "{}の場合: 重みは正しいのに出力が違います。ヘッドの出力を横に並べて（(B, T, C)）、self.out_proj "
        "を適用してください",
    "multi-head attention matches helpers.models.attention.MultiHeadAttention, with and without the causal mask":
        "マルチヘッドアテンションは helpers.models.attention.MultiHeadAttention と、"
        "因果マスクがあってもなくても一致します",
    "divide the scores by sqrt(D), D = q.shape[-1]: without it wide heads give a near one-hot softmax":
        "スコアを sqrt(D) で割ってください（D = q.shape[-1]）。これがないと、"
        "幅の広いヘッドではソフトマックスがほぼワンホットになります",
    "the softmax runs over the wrong axis: use dim=-1, so that each query's weights over the keys sum to 1":
        "ソフトマックスをかける軸が違います。dim=-1 を使い、各クエリのキーに対する重みの和が 1 "
        "になるようにしてください",
    "the mask is not applied: fill the scores where mask is False with -inf before the softmax":
        "マスクが適用されていません。ソフトマックスの前に、mask が False の位置のスコアを -inf で埋めてください",
    "fill the masked scores with float('-inf'), not 0: a score of 0 still gets weight":
        "マスクしたスコアは 0 ではなく float('-inf') で埋めてください。スコア 0 にもまだ重みがつきます",
    "the mask is inverted: True means 'may attend', so the scores to fill are those where it is False":
        "マスクが反転しています。True は「アテンションしてよい」なので、埋めるべきスコアは mask が False の位置です",
    "mask the scores before the softmax (masking the weights afterwards leaves rows that do not sum to 1)":
        "スコアはソフトマックスの前にマスクしてください（後から重みをマスクすると、行の和が 1 になりません）",
    "use the mask you are given: attention is not always causal, and callers pass other masks":
        "渡されたマスクを使ってください。アテンションがいつも因果的とは限らず、呼び出し側は別のマスクも渡します",
    "the mask is transposed: row i of mask is query i, column j key j; use it as given":
        "マスクが転置されています。mask の行 i がクエリ i、列 j がキー j です。渡されたまま使ってください",
    "no mask": "マスクなし",
    "a causal mask": "因果マスクあり",
    "a (T, S) mask that is not causal": "因果的でない (T, S) マスクあり",
    "the causal mask": "因果マスクあり",
    # checks/decoding.py
    "work the statement's row by hand first (probabilities 0.5, 0.3, 0.15, 0.05, p = 0.75): which tokens stay, and "
    "what decides where the cut falls?":
        "まず問題文の行を手で計算してみましょう（確率 0.5, 0.3, 0.15, 0.05、p = 0.75）。どのトークンが残り、"
        "どこで切るかは何で決まるでしょうか？",
    "p={} ({}): {}": "p={} ({}): {}",
    "top_p_filter keeps the smallest set of most likely tokens that reaches p, as helpers.generation.sampling does":
        "top_p_filter は、確率の合計が p に達する最小の上位トークンの集合を残します。helpers.generation.sampling "
        "と同じです",
    "{}: you keep {} tokens per row, {} keeps {}: {}":
        "{}: あなたの実装は各行で {} 個のトークンを残しますが、{} は {} 個残します: {}",
    "{}: you keep {} tokens per row, {} keeps {}":
        "{}: あなたの実装は各行で {} 個のトークンを残しますが、{} は {} 個残します",
    "{}: the right tokens are dropped, but the kept ones must keep their logits unchanged (masked_fill with "
    "float('-inf'))":
        "{}: 落とすトークンは正しいのですが、残すトークンのロジットは変えずにおく必要があります（float('-inf') で "
        "masked_fill）",
    "the cut-off is a probability: for a row whose top token has probability 0.6, which tokens does min_p = 0.1 keep?":
        "閾値は確率です。最も確率の高いトークンの確率が 0.6 の行では、min_p = 0.1 でどのトークンが残るでしょうか？",
    "that looks like probabilities: return the logits, with the dropped tokens set to float('-inf')":
        "確率のように見えます。ロジットを返し、落としたトークンは float('-inf') にしてください",
    "min_p={}: the threshold is relative: min_p times the most likely token's probability":
        "min_p={}: 閾値は相対的です。min_p に最も確率の高いトークンの確率を掛けたものです",
    "min_p={}: compare probabilities (softmax of the logits), not the logits themselves":
        "min_p={}: ロジットそのものではなく、確率（ロジットのソフトマックス）を比べてください",
    "min_p matches transformers' MinPLogitsWarper": "min_p は transformers の MinPLogitsWarper と一致します",
    "which logits change? only those of the tokens in ids, each once; the sign rule of the statement says how":
        "どのロジットが変わるでしょうか？ ids に含まれるトークンのロジットだけが、それぞれ 1 回ずつ変わります。"
        "どう変えるかは問題文の符号のルールに書いてあります",
    "a token that is not in ids must keep its logit: penalise only the tokens already generated":
        "ids に含まれないトークンのロジットは変えてはいけません。ペナルティは生成済みのトークンだけにかけます",
    "dividing a negative logit by the penalty raises it (-2 / 1.5 = -1.33): multiply negative logits instead":
        "負のロジットをペナルティで割ると値が上がってしまいます（-2 / 1.5 = -1.33）。"
        "負のロジットには掛け算をしてください",
    "penalise each token of ids once (not once per occurrence), with the statement's sign rule":
        "ids の各トークンには（出現回数ごとではなく）1 回だけ、問題文の符号のルールでペナルティをかけてください",
    "repetition_penalty matches transformers' RepetitionPenaltyLogitsProcessor":
        "repetition_penalty は transformers の RepetitionPenaltyLogitsProcessor と一致します",
    "count the numbers the cache holds, then their bytes: what does one layer keep for one token of one sequence?":
        "まずキャッシュが保持する数の個数を数え、次にそのバイト数を求めます。1 つの層は、1 つの系列の 1 "
        "トークンにつき何を保持するでしょうか？",
    "{}: got {}, half of it: the cache holds keys AND values":
        "{}: 結果は {} で、正しい値の半分です。キャッシュにはキーとバリューの両方が入ります",
    "{}: got {}: every one of the n_layer layers has its own cache":
        "{}: 結果は {} です。n_layer 個の層はそれぞれ自分のキャッシュを持ちます",
    "{}: got {}: each sequence in the batch has its own cache":
        "{}: 結果は {} です。バッチ内の各系列はそれぞれ自分のキャッシュを持ちます",
    "{}: got {}, the real cache takes {} bytes": "{}: 結果は {} ですが、実際のキャッシュは {} バイトです",
    "your formula matches the bytes of real KV caches": "あなたの式は実際の KV キャッシュのバイト数と一致します",
    "start from notebook 01's multi-head attention for the new tokens alone; then ask which keys each new token may "
    "see once the cache holds past tokens":
        "新しいトークンだけに対するノートブック 01 のマルチヘッドアテンションから始めましょう。次に、"
        "キャッシュに過去のトークンがあるとき、新しい各トークンがどのキーを見てよいかを考えてください",
    "{}: expected a tensor of shape {} (B, T_new, C), got {}":
        "{}: 形状 {}（B, T_new, C）のテンソルになるはずですが、{} が返りました",
    "{}: {}": "{}: {}",
    "{}: the cache holds {} tokens, it should hold {}: {}":
        "{}: キャッシュが保持するトークンは {} 個ですが、{} 個のはずです: {}",
    "{}: the output differs from helpers.models.gpt's cached attention (max difference {})":
        "{}: 出力が helpers.models.gpt のキャッシュ付きアテンションと異なります（最大の差 {}）",
    "the outputs match but the cache holds other keys or values: append k and v as (B, H, T, D)":
        "出力は一致しますが、キャッシュの中のキーかバリューが違います。k と v は (B, H, T, D) のまま追加してください",
    "your cached attention matches helpers.models.gpt's, in a prefill, one token at a time and several at once":
        "あなたのキャッシュ付きアテンションは helpers.models.gpt と一致します。プレフィル、1 トークンずつ、"
        "複数トークンまとめての、どの場合も同じです",
    "you drop the token that makes the mass reach p; keep it: drop a token only when the mass *before* it (cumsum "
    "minus its own probability) already reaches p":
        "確率の合計を p に到達させるトークンまで落としています。それは残してください。トークンを落とすのは、"
        "そのトークンより*前*の確率の合計（累積和から自分の確率を引いたもの）がすでに p に達しているときだけです",
    "sort the probabilities in descending order before the cumulative sum":
        "累積和をとる前に、確率を降順に並べ替えてください",
    "the result is in sorted order: scatter the mask back to vocabulary order with the sort's indices":
        "結果が並べ替えた順序のままです。並べ替えのインデックスを使い、マスクを語彙の順序に scatter で戻してください",
    "take the softmax over the vocabulary, the last dimension":
        "ソフトマックスは語彙、つまり最後の次元でとってください",
    "the top 2 reach 0.75": "上位 2 つで 0.75 に達する",
    "0.5 + 0.3 < 0.85: 3 tokens": "0.5 + 0.3 < 0.85 なので 3 トークン",
    "the top token alone reaches 0.3": "最上位のトークンだけで 0.3 に達する",
    "random rows": "ランダムな行",
    "p={} ({})": "p={} ({})",
    "keep exactly the tokens whose probability reaches min_p times the row's largest":
        "確率が「min_p × 行の最大確率」に達するトークンだけを、過不足なく残してください",
    "the prefill (5 tokens, empty cache)": "プレフィル（5 トークン、空のキャッシュ）",
    "one new token after 5 cached": "5 トークンをキャッシュした後の新しい 1 トークン",
    "3 new tokens after 6 cached": "6 トークンをキャッシュした後の新しい 3 トークン",
    "one token": "1 トークン",
    "divide the scores by sqrt(head size), k.size(-1)":
        "スコアを sqrt(ヘッドのサイズ)、つまり sqrt(k.size(-1)) で割ってください",
    "mask the keys of later positions: a new token must not see the future":
        "後ろの位置のキーをマスクしてください。新しいトークンが未来を見てはいけません",
    "the new tokens sit at positions past..past+T-1: new token i sees keys 0..past+i, so the causal mask must be "
    "shifted by past":
        "新しいトークンは位置 past..past+T-1 にあります。新しいトークン i が見るのはキー 0..past+i なので、"
        "因果マスクを past だけずらす必要があります",
    "the softmax runs over the keys, the last dimension of the scores":
        "ソフトマックスはキー、つまりスコアの最後の次元でとります",
    "append the new keys and values to the cache (cache.append) and attend over everything it returns":
        "新しいキーとバリューをキャッシュに追加し（cache.append）、"
        "キャッシュが返すものすべてに対してアテンションを計算してください",
    # checks/few_shot_prompting.py
    "the chat cell above builds a conversation: what does one message look like there, and in which order do the "
    "system, example and query turns come here?":
        "上のチャットのセルは会話を組み立てています。そこでは 1 つのメッセージはどんな形をしていて、"
        "ここではシステム、例、クエリのターンがどの順に並ぶでしょうか？",
    "expected a list of dicts, got {}": "dict のリストになるはずですが、{} が返りました",
    "{} example(s) should give {} messages (1 system + 2 per example + 1 query), got {}":
        "例が {} 個なら、メッセージは {} 個（システム 1 + 例ごとに 2 + クエリ 1）になるはずですが、{} 個でした",
    "message {}: role should be {}, got {}": "メッセージ {}: role は {} のはずですが、{} でした",
    "message {}: content should be {}, got {}": "メッセージ {}: content は {} のはずですが、{} でした",
    "examples become prior user/assistant turns, as the chat endpoint expects":
        "例は、チャットのエンドポイントが期待するとおり、それまでの user/assistant のターンになります",
    "try the statement's replies, such as 'Positive.' and 'The sentiment is negative.': what has to go before a word "
    "can equal a label?":
        "'Positive.' や 'The sentiment is negative.' のような問題文の返答で試してみましょう。"
        "単語がラベルと一致するには、その前に何をする必要があるでしょうか？",
    "parse_label({}) gave '': return None when no word is a label, so that a caller can test `is None`":
        "parse_label({}) が '' を返しました。ラベルである単語がないときは None を返してください。呼び出し側が `is "
        "None` で判定できます",
    "parse_label({}) should be {}, got {}: a label must be a whole word, and the first one in the reply wins":
        "parse_label({}) は {} のはずですが、{} が返りました。ラベルは単語全体で一致する必要があり、"
        "返答の中で最初に現れたラベルが採用されます",
    "parse_label({}) should be {}, got {}": "parse_label({}) は {} のはずですが、{} が返りました",
    "free-form replies map to labels (or None), so chat answers can be scored too":
        "自由な形式の返答がラベル（または None）に対応づけられるので、チャットの回答も採点できます",
    # checks/finetune_poetry.py
    "take one (out, in) matrix first: how many entries do its A and B have?":
        "まず (out, in) の行列 1 つで考えましょう。その A と B にはそれぞれいくつの要素があるでしょうか？",
    "{}: give a whole number, got {}": "{}: 整数で答えてください。返ったのは {} です",
    "{}: that is the size of the frozen matrices W, not of A and B":
        "{}: それは凍結した行列 W の大きさで、A と B の大きさではありません",
    "{}: A·B is never stored: count A (r × in) and B (out × r)":
        "{}: A·B は保存されません。A (r × in) と B (out × r) を数えてください",
    "{}: A has r·in entries and B has out·r: use each matrix's own in and out":
        "{}: A の要素は r·in 個、B は out·r 個です。行列ごとに、その行列自身の in と out を使ってください",
    "{}: expected {}, got {}: count A and B of each matrix with its own in and out, and add over all the matrices":
        "{}: {} になるはずですが、{} でした。各行列の A と B をその行列自身の in と out で数え、"
        "すべての行列について足し合わせてください",
    "r·(in + out) per matrix: SmolLM2's q/v adapters at r=8 have 460,800 parameters":
        "行列ごとに r·(in + out)。r=8 の SmolLM2 の q/v アダプタは 460,800 パラメータです",
    "write the adapted layer's output as one matrix times x: which matrix is it?":
        "適応した層の出力を、1 つの行列と x の積として書いてみましょう。それはどんな行列でしょうか？",
    "expected a tensor of W's shape {}, got {}": "W と同じ形状 {} のテンソルになるはずですが、{} が返りました",
    "r={}, alpha={}: scale B·A by alpha / r": "r={}, alpha={}: B·A を alpha / r 倍してください",
    "add the change to W: W stays, B·A is added": "変化分を W に足してください。W はそのまま残り、B·A が加わります",
    "the scale is alpha / r, not r / alpha": "倍率は r / alpha ではなく alpha / r です",
    "r={}, alpha={}: expected the statement's W' (B is out × r, A is r × in, and r is read from their shapes)":
        "r={}, alpha={}: 問題文の W' になるはずです（B は out × r、A は r × in で、r はその形状から読み取ります）",
    "merged: W + (alpha / r)·B·A, one matrix again, no extra cost when generating":
        "マージ済み: W + (alpha / r)·B·A はふたたび 1 つの行列なので、生成時の追加コストはありません",
    "start with __init__: the statement lists what it keeps (the frozen base, A and B with their shapes and starting "
    "values); forward comes last":
        "まず __init__ から始めましょう。何を保持するか（凍結したベース、A と B とその形状と初期値）"
        "は問題文に書いてあります。forward は最後です",
    "{}: only A and B train: freeze the wrapped Linear (requires_grad_(False)) and add nothing else":
        "{}: 学習するのは A と B だけです。ラップした Linear を凍結し（requires_grad_(False)）、"
        "ほかには何も加えないでください",
    "{}: B starts at zero, so that the adapted layer starts as the pretrained one":
        "{}: B はゼロから始めます。そうすれば、適応した層は最初は事前学習済みの層と同じになります",
    "{}: A starts random (e.g. nn.init.kaiming_uniform_): with A and B both zero no gradient reaches either":
        "{}: A はランダムに初期化します（たとえば nn.init.kaiming_uniform_）。A と B が両方ゼロだと、"
        "どちらにも勾配が届きません",
    "{}: for x of shape (2, 3, {}) return (2, 3, {}), got {}":
        "{}: 形状 (2, 3, {}) の x に対しては (2, 3, {}) を返すはずですが、{} が返りました",
    "{}: with B = 0 the output must be base(x)": "{}: B = 0 のとき、出力は base(x) でなければなりません",
    "{}: scale B·A·x by alpha / r": "{}: B·A·x を alpha / r 倍してください",
    "{}: the scale is alpha / r, not r / alpha": "{}: 倍率は r / alpha ではなく alpha / r です",
    "{}: add the change to the frozen layer's output base(x)":
        "{}: 変化分を、凍結した層の出力 base(x) に足してください",
    "{}: the output differs from peft's LoRA layer: check forward against the statement, term by term":
        "{}: 出力が peft の低ランク適応の層と異なります。forward を問題文と項ごとに照らし合わせてください",
    "{}: no gradient reached A and B: use them in forward":
        "{}: A と B に勾配が届きませんでした。forward で使ってください",
    "your LoRA layer computes what peft's does on the same weights: W·x + (alpha / r)·B·A·x, B = 0 at the start":
        "あなたの低ランク適応の層は、同じ重みで peft と同じものを計算します: W·x + (alpha / r)·B·A·x、最初は B = 0",
    "{}: keep the two matrices as nn.Parameter attributes self.A and self.B":
        "{}: 2 つの行列は nn.Parameter の属性 self.A と self.B として保持してください",
    "{}: A should be (r, in) = {} and B (out, r) = {}, got {} and {}":
        "{}: A は (r, in) = {}、B は (out, r) = {} のはずですが、{} と {} でした",
    "{} matrices, r={}": "{} 個の行列、r={}",
    # checks/finetune_titles.py
    "write out by hand the document of one labelled and one unlabelled title from the statement's pattern: which "
    "part depends on the label?":
        "問題文のパターンから、ラベル付きのタイトルとラベルなしのタイトルを 1 つずつ、"
        "文書の形に手で書き出してみましょう。ラベルによって変わるのはどの部分でしょうか？",
    "make_document({}, {}) should return one string, got {}":
        "make_document({}, {}) は 1 つの文字列を返すはずですが、{} が返りました",
    "{}: a document starts with <|startoftext|>": "{}: 文書は <|startoftext|> で始まります",
    "{}: a document ends with <|endoftext|>, right after the text":
        "{}: 文書は、テキストの直後の <|endoftext|> で終わります",
    "{}: with label=None there is no control prefix, just the text between the tokens":
        "{}: label=None のときは制御用の接頭辞はなく、2 つのトークンの間にテキストだけが入ります",
    "{}: the control prefix is the label in square brackets, [{}]":
        "{}: 制御用の接頭辞は、角括弧で囲んだラベル [{}] です",
    "{}: expected {} (one space after the ], none elsewhere)":
        "{}: {} になるはずです（] の後に空白が 1 つ、ほかには空白なし）",
    "documents match helpers.data.titles.make_document": "文書は helpers.data.titles.make_document と一致します",
    "titles.word_set turns a text into a set of words; which two set operations does |A ∩ B| / |A ∪ B| need?":
        "titles.word_set はテキストを単語の集合に変えます。|A ∩ B| / |A ∪ B| に必要な集合演算は、どの 2 "
        "つでしょうか？",
    "jaccard({}, {}) = {}: divide by the size of the union A | B, not of the longer text":
        "jaccard({}, {}) = {}: 長いほうのテキストの大きさではなく、和集合 A | B の大きさで割ってください",
    "jaccard({}, {}) = {}: divide by the size of the union A | B, not of the smaller set":
        "jaccard({}, {}) = {}: 小さいほうの集合の大きさではなく、和集合 A | B の大きさで割ってください",
    "jaccard({}, {}) = {}, expected {}: compare the word SETS (repeats count once, case ignored), |A ∩ B| / |A ∪ B|":
        "jaccard({}, {}) = {} ですが、{} になるはずです。単語の「集合」を比べてください（重複は 1 回と数え、"
        "大文字小文字は区別しない）。|A ∩ B| / |A ∪ B| です",
    "Jaccard similarity is right, repeated words and case included":
        "Jaccard 類似度は、単語の重複や大文字小文字を含めて正しいです",
    # checks/gpt_block.py
    "each vector of C numbers along the last axis is normalised on its own: which two statistics of those C numbers "
    "does that take?":
        "最後の軸に沿った C 個の数のベクトルは、それぞれ独立に正規化されます。そのためには、その C 個の数のどの 2 "
        "つの統計量が必要でしょうか？",
    "almost: the variance here divides by C, not C - 1 (the biased variance; look at torch.var's arguments)":
        "あと一歩です。ここでの分散は C - 1 ではなく C で割ります（偏りのある分散です。torch.var "
        "の引数を見てください）",
    "normalised, but not scaled and shifted: multiply by weight and add bias at the end":
        "正規化はできていますが、スケールとシフトがありません。最後に weight を掛けて bias を足してください",
    "not LayerNorm: compare yours with torch.nn.functional.layer_norm on a small x, step by step":
        "層正規化になっていません。小さな x で torch.nn.functional.layer_norm と一歩ずつ比べてください",
    "layer_norm matches torch.nn.functional.layer_norm": "layer_norm は torch.nn.functional.layer_norm と一致します",
    "read the paragraph on the residual stream above: what does each sub-layer read, and where does its result go?":
        "上の残差ストリームの段落を読み直しましょう。各サブレイヤーは何を読み、その結果はどこへ行くでしょうか？",
    "a block keeps the shape (B, T, C) = {}; got {}": "ブロックは形状 (B, T, C) = {} を保ちますが、{} が返りました",
    "not the pre-norm block: each sub-layer reads its own LayerNorm of the stream, and the stream itself gets the "
    "sub-layer's result added":
        "プレノルムのブロックになっていません。各サブレイヤーはストリームをそれぞれの層正規化にかけたものを読み、"
        "ストリーム自体にはサブレイヤーの結果が足されます",
    "block_forward is GPT-2's pre-norm residual block": "block_forward は GPT-2 のプレノルム残差ブロックです",
    "count one block from the table above first, then what sits around the blocks":
        "まず上の表で 1 ブロック分を数え、次にブロックの外側にあるものを数えましょう",
    "{}: a count is a whole number, got {}": "{}: 個数は整数です。返ったのは {} です",
    "your count matches GPT.num_params() on three shapes": "あなたの数は 3 つの形状で GPT.num_params() と一致します",
    "list the Linear layers one token goes through, with their weights' shapes":
        "1 つのトークンが通る Linear 層を、その重みの形状とともに書き出しましょう",
    "{}: a multiply-add is 2 FLOPs; you counted 1 per weight":
        "{}: 積和 1 回は 2 FLOPs です。あなたは重み 1 つにつき 1 と数えています",
    "{}: add the lm_head, the biggest single matmul here": "{}: lm_head を足してください。ここで最大の行列積です",
    "{}: got {}, torch counts {} ({}); count all four Linears per block":
        "{}: 結果は {} ですが、torch の数えた値は {} です（{}）。ブロックごとに 4 つの Linear をすべて数えてください",
    "your FLOP count matches torch's FlopCounterMode": "あなたの FLOP 数は torch の FlopCounterMode と一致します",
    "that is post-norm (the original Transformer's x = ln(x + sublayer(x))): here each sub-layer reads ln(x) and its "
    "result is added to x itself, which is never normalised":
        "それはポストノルムです（元の Transformer の x = ln(x + sublayer(x))）。ここでは各サブレイヤーが ln(x) "
        "を読み、その結果は正規化されない x 自体に足されます",
    "the attention's result replaces x: add it to the stream x instead":
        "アテンションの結果が x を置き換えています。代わりにストリーム x に足してください",
    "the MLP's result replaces x: add it to the stream x instead":
        "フィードフォワード層の結果が x を置き換えています。代わりにストリーム x に足してください",
    "add the sub-layers' results to x, not to its normalised copy: the stream itself is never normalised":
        "サブレイヤーの結果は、x を正規化したコピーではなく x に足してください。"
        "ストリーム自体は決して正規化されません",
    "the MLP must read the stream after the attention added to it (not the block's input: that is a 'parallel' block)":
        "フィードフォワード層は、"
        "アテンションの結果が足された後のストリームを読む必要があります（ブロックの入力ではありません。"
        "それは「並列」ブロックです）",
    "ln_1 goes with attn and ln_2 with mlp": "ln_1 は attn と、ln_2 は mlp と組になります",
    "attention first, then the MLP": "先にアテンション、次にフィードフォワード層です",
    "the block returns the stream as it is: no LayerNorm on the way out (GPT has one ln_f after the last block)":
        "ブロックはストリームをそのまま返します。出口で層正規化はかけません（GPT では最後のブロックの後に ln_f が 1 "
        "つあります）",
    "you counted lm_head, but it is the token embedding matrix again (weights are tied)":
        "lm_head を数えていますが、それはトークン埋め込みの行列をもう一度使っているだけです（重みを共有しています）",
    "add the learned position table, block_size × n_embd":
        "学習される位置埋め込みの表、block_size × n_embd を足してください",
    "add the token embedding table, vocab_size × n_embd (lm_head shares it)":
        "トークン埋め込みの表、vocab_size × n_embd を足してください（lm_head はこれを共有します）",
    "add the final LayerNorm ln_f: a weight and a bias per channel, 2·C":
        "最後の層正規化 ln_f を足してください。チャネルごとに weight と bias が 1 つずつ、2·C です",
    "each block has two LayerNorms of 2·C each (ln_1, ln_2)":
        "各ブロックには 2·C ずつの層正規化が 2 つあります（ln_1, ln_2）",
    "count the Linear layers' biases: 3C + C + 4C + C per block":
        "Linear 層のバイアスを数えてください。ブロックごとに 3C + C + 4C + C です",
    "count biases and LayerNorms, 13·C per block, not only the 12·C² weights":
        "12·C² の重みだけでなく、バイアスと層正規化も数えてください。ブロックごとに 13·C です",
    "got {}, the model has {} ({}); check biases and LayerNorms":
        "結果は {} ですが、モデルは {} です（{}）。バイアスと層正規化を確かめてください",
    # checks/instruction_tuning.py
    "the logits at position t predict token t + 1: line the predictions up with their targets first, then decide "
    "which positions count":
        "位置 t のロジットはトークン t + 1 を予測します。まず予測と正解を揃え、"
        "それからどの位置を数えるかを決めましょう",
    "return one number (a scalar tensor), got {}": "1 つの数（スカラーのテンソル）を返してください。返ったのは {} です",
    "off by one: the logits at position t predict token t + 1, so compare logits[:, :-1] with ids[:, 1:]":
        "1 つずれています。位置 t のロジットはトークン t + 1 を予測するので、logits[:, :-1] と ids[:, 1:] "
        "を比べてください",
    "the targets are ids[:, 1:], so their mask is mask[:, 1:] (shift the mask with the targets, the same way)":
        "正解は ids[:, 1:] なので、そのマスクは mask[:, 1:] です（マスクも正解と同じようにずらしてください）",
    "the loss covers the prompt too: average only over the response tokens (where mask[:, 1:] is True)":
        "損失がプロンプトまで含んでいます。応答のトークン（mask[:, 1:] が True の位置）だけで平均してください",
    "that is the sum: divide by the number of response tokens to get the mean":
        "それは合計です。平均にするには応答のトークン数で割ってください",
    "divide by the number of response tokens, not by every position of the batch":
        "バッチのすべての位置の数ではなく、応答のトークン数で割ってください",
    "one mean over all the batch's response tokens, not a mean per row first (rows have different lengths)":
        "まず行ごとに平均するのではなく、バッチ全体の応答トークンについて 1 "
        "回だけ平均してください（行によって長さが違います）",
    "got {}, expected {}: the mean over response tokens of −log softmax(logits)[next token]":
        "結果は {} ですが、{} になるはずです。応答トークンについての −log softmax(logits)[次のトークン] の平均です",
    "the response-only SFT loss: shifted by one, masked, one mean over the response tokens":
        "応答だけの教師ありファインチューニングの損失: 1 つずらし、マスクし、応答トークン全体で 1 回平均します",
    "which positions keep their id, and which value makes the loss skip a position?":
        "どの位置が id を残し、どの値にすると損失がその位置を飛ばすでしょうか？",
    "inverted: the response tokens (mask True) keep their ids, the prompt and padding become -100":
        "反転しています。応答のトークン（mask が True）が id を残し、プロンプトとパディングが -100 になります",
    "do not shift the labels: transformers shifts them by one position itself":
        "ラベルはずらさないでください。transformers が自分で 1 位置ずらします",
    "positions outside the response must be -100 (cross_entropy's ignore_index), not 0 or the id":
        "応答の外の位置は、0 や id ではなく -100（cross_entropy の ignore_index）にしてください",
    "on the response positions, the labels are the ids themselves, unshifted":
        "応答の位置では、ラベルは ids そのもので、ずらしません",
    "labels: ids on the response, -100 elsewhere; model(ids, labels=labels).loss is then the SFT loss":
        "ラベル: 応答では ids、それ以外は -100。こうすると model(ids, labels=labels).loss "
        "が教師ありファインチューニングの損失になります",
    "compute the implicit reward of each answer first (the section's first paragraph defines it), one per pair and "
    "answer":
        "まず各回答の暗黙の報酬を計算しましょう（節の最初の段落で定義しています）。ペアと回答ごとに 1 つです",
    "return one number (the mean over the batch), got {}":
        "1 つの数（バッチの平均）を返してください。返ったのは {} です",
    "the reference's log-probs are subtracted: reward = β · (log π(y|x) − log π_ref(y|x))":
        "参照モデルの対数確率は引き算します: 報酬 = β · (log π(y|x) − log π_ref(y|x))",
    "the reference is missing: each reward is β times the log-ratio log π − log π_ref":
        "参照モデルが抜けています。各報酬は対数比 log π − log π_ref の β 倍です",
    "β is missing: the rewards are β · log-ratio (β = {} here)":
        "β が抜けています。報酬は β · 対数比です（ここでは β = {}）",
    "β goes inside the sigmoid: −log σ(β · h), not −β · log σ(h)":
        "β はシグモイドの中に入ります: −β · log σ(h) ではなく −log σ(β · h) です",
    "chosen and rejected are swapped: the loss falls as the chosen answer's reward rises above the rejected's":
        "chosen と rejected が入れ替わっています。損失は、"
        "選ばれた回答の報酬が退けられた回答の報酬を上回るほど下がります",
    "the sign: the loss is −log σ(...), a positive number (log 2 when policy = reference)":
        "符号: 損失は −log σ(...) で、正の数です（方策 = 参照モデルのとき log 2）",
    "take the log of the sigmoid: −log σ(β · h)": "シグモイドの対数をとってください: −log σ(β · h)",
    "take the mean over the batch, not the sum": "バッチについて合計ではなく平均をとってください",
    "got {}, expected {} (β = {}): mean of −log σ(β · h)":
        "結果は {} ですが、{} になるはずです（β = {}）。−log σ(β · h) の平均です",
    "the DPO loss (Rafailov et al. 2023, eq. 7) is right for β = 0.1 and 0.5":
        "DPO の損失（Rafailov et al. 2023、式 7）は β = 0.1 と 0.5 で正しいです",
    "compute h first, one number per pair, from the four log-probabilities":
        "まず 4 つの対数確率から、ペアごとに 1 つの数 h を計算しましょう",
    "IPO compares the plain log-ratio difference h with 1/(2β): do not multiply h by β":
        "IPO は対数比の差 h そのものを 1/(2β) と比べます。h に β を掛けないでください",
    "subtract the reference's log-probs: h uses both log-ratios, log π − log π_ref":
        "参照モデルの対数確率を引いてください。h は 2 つの対数比 log π − log π_ref を両方使います",
    "the reference's log-probs are subtracted, not added: h = (log π − log π_ref)(y_w) − (log π − log π_ref)(y_l)":
        "参照モデルの対数確率は足すのではなく引きます: h = (log π − log π_ref)(y_w) − (log π − log π_ref)(y_l)",
    "not the IPO loss: mean over the batch of (h − 1/(2β))²":
        "IPO の損失になっていません。バッチについての (h − 1/(2β))² の平均です",
    "the IPO loss (Azar et al. 2023) is right for β = 0.1 and 0.5":
        "IPO の損失（Azar et al. 2023）は β = 0.1 と 0.5 で正しいです",
    # checks/pretrained_model.py
    "RMSNorm is LayerNorm without the mean: which one statistic of a vector's C numbers does it divide by?":
        "RMSNorm は平均を引かない層正規化です。ベクトルの C 個の数のどの 1 つの統計量で割るでしょうか？",
    "{}: expected a tensor of x's shape, got {}": "{}: x と同じ形状のテンソルになるはずですが、{} が返りました",
    "{}: that is LayerNorm: RMSNorm does not subtract the mean, it only divides by the root mean square":
        "{}: それは層正規化です。RMSNorm は平均を引かず、二乗平均平方根で割るだけです",
    "{}: multiply the normalised vector by weight, channel by channel":
        "{}: 正規化したベクトルに、チャネルごとに weight を掛けてください",
    "{}: take the MEAN of the squares (divide by C), not their sum: that is the norm, not the RMS":
        "{}: 二乗の和ではなく「平均」をとってください（C で割る）。和ではノルムになり、RMS になりません",
    "{}: eps goes inside the square root: sqrt(mean(x²) + eps)": "{}: eps は平方根の中に入ります: sqrt(mean(x²) + eps)",
    "{}: normalise each vector over its C channels (the last axis, keepdim=True), eps inside the root, then the "
    "weight":
        "{}: 各ベクトルを C 個のチャネル（最後の軸、keepdim=True）で正規化し、eps は根号の中に入れ、最後に weight "
        "を掛けてください",
    "RMSNorm: divide by the root mean square, scale by the weight; the same as helpers.models.llama.rms_norm":
        "RMSNorm: 二乗平均平方根で割り、weight でスケールします。helpers.models.llama.rms_norm と同じです",
    "build the angles first, a (T, D/2) table of position × θ_i, and print it for T = 3, D = 4 and base 100: does "
    "row 0 hold zeros?":
        "まず角度の表を作りましょう。位置 × θ_i の (T, D/2) の表です。T = 3、D = 4、base 100 で表示してみてください。"
        "0 行目はゼロになっていますか？",
    "{}: x came back unchanged: rotate each pair by its angle":
        "{}: x が変わらずに返ってきました。各ペアをその角度だけ回転させてください",
    "{}: a rotation keeps each vector's length and yours changes it: check the two rotated halves against the "
    "statement":
        "{}: 回転はベクトルの長さを変えませんが、あなたの実装は変えています。回転させた 2 "
        "つの半分を問題文と照らし合わせてください",
    "{}: rotated the wrong way: the first half gets x1·cos − x2·sin, the second x1·sin + x2·cos":
        "{}: 回転の向きが逆です。前半は x1·cos − x2·sin、後半は x1·sin + x2·cos になります",
    "{}: the two halves are swapped: the first half of the output is x1·cos − x2·sin":
        "{}: 2 つの半分が入れ替わっています。出力の前半は x1·cos − x2·sin です",
    "{}: that pairs neighbours (0, 1), (2, 3)...; this model pairs channel i with channel i + D/2":
        "{}: それは隣どうし (0, 1), (2, 3)... をペアにしています。このモデルはチャネル i とチャネル i + D/2 "
        "をペアにします",
    "{}: positions start at 0, not 1": "{}: 位置は 1 ではなく 0 から始まります",
    "{}: pair i turns by base^(−2i/D) per position: the exponent grows by 2/D from one pair to the next":
        "{}: ペア i は 1 位置ごとに base^(−2i/D) だけ回転します。指数はペアが 1 つ進むごとに 2/D ずつ増えます",
    "{}: pair i is (x[..., i], x[..., i + D/2]) and turns by position × base^(−2i/D)":
        "{}: ペア i は (x[..., i], x[..., i + D/2]) で、位置 × base^(−2i/D) だけ回転します",
    "RoPE: each pair (i, i + D/2) turned by position × θ_i, the same as helpers.models.llama.rope":
        "RoPE: 各ペア (i, i + D/2) を位置 × θ_i だけ回転させます。helpers.models.llama.rope と同じです",
    "{}: your code raised RuntimeError ({}): k and v have K heads and q has H; give k and v as many heads as q first":
        "{}: あなたのコードで RuntimeError が発生しました（{}）。k と v のヘッドは K 個、q のヘッドは H 個です。まず "
        "k と v のヘッドを q と同じ数にしてください",
    "k and v have fewer heads than q: which query heads share key/value head 0? Once every query head has its keys, "
    "it is notebook 01's causal attention":
        "k と v のヘッドは q より少なくなっています。キー/バリューのヘッド 0 を共有するのは、"
        "どのクエリのヘッドでしょうか？ すべてのクエリのヘッドが自分のキーを得れば、あとはノートブック 01 "
        "の因果的なアテンションです",
    "{}: expected a tensor of q's shape {}, got {}": "{}: q と同じ形状 {} のテンソルになるはずですが、{} が返りました",
    "{}: query heads 0..{} share key/value head 0, the next {} head 1, ...: use repeat_interleave (0,0,0,1,1,1), not "
    "repeat (0,1,2,0,1,2)":
        "{}: クエリのヘッド 0..{} がキー/バリューのヘッド 0 を共有し、次の {} 個がヘッド 1 を共有し、以下同様です。"
        "repeat (0,1,2,0,1,2) ではなく repeat_interleave (0,0,0,1,1,1) を使ってください",
    "{}: a query must not see later tokens: mask the scores above the diagonal with -inf":
        "{}: クエリが後ろのトークンを見てはいけません。対角線より上のスコアを -inf でマスクしてください",
    "{}: scale the scores by 1/√D, not 1/D": "{}: スコアは 1/D ではなく 1/√D でスケールします",
    "{}: check the attention step against notebook 01's: the scale, the softmax over the keys (the last axis) and "
    "the causal mask":
        "{}: アテンションのステップをノートブック 01 と照らし合わせてください。スケール、キー（最後の軸）"
        "に対するソフトマックス、因果マスクです",
    "grouped-query attention: each key/value head serves its group of query heads, causal, as "
    "helpers.models.llama.grouped_query_attention":
        "グループ化クエリアテンション: キー/バリューの各ヘッドが自分のグループのクエリのヘッドを受け持ち、"
        "因果的です。helpers.models.llama.grouped_query_attention と同じです",
    "which channels form pair i in this layout, and how do you pick the first member of every pair at once?":
        "このレイアウトでペア i をなすのはどのチャネルで、すべてのペアの 1 "
        "つ目の要素を一度に取り出すにはどうすればよいでしょうか？",
    "{}: a rotation keeps each vector's length, yours changes it: check the rotated pair against the statement":
        "{}: 回転はベクトルの長さを変えませんが、あなたの実装は変えています。"
        "回転させたペアを問題文と照らし合わせてください",
    "{}: that is the half-split layout (pairs i and i + D/2); here the pairs are neighbours (0, 1), (2, 3), ...":
        "{}: それは半分に分けるレイアウト（ペア i と i + D/2）です。ここでは隣どうしの (0, 1), (2, 3) などがペアです",
    "{}: rotated the wrong way: (x1, x2) -> (x1·cos − x2·sin, x1·sin + x2·cos)":
        "{}: 回転の向きが逆です: (x1, x2) -> (x1·cos − x2·sin, x1·sin + x2·cos)",
    "{}: pair i is (x[2i], x[2i+1]) and turns by angles[:, i]; the rotated pair goes back at channels 2i and 2i+1 "
    "(evens and odds interleaved again)":
        "{}: ペア i は (x[2i], x[2i+1]) で、angles[:, i] だけ回転します。回転したペアはチャネル 2i と 2i+1 "
        "に戻ります（偶数と奇数がふたたび交互に並びます）",
    "rotates neighbouring pairs (RoFormer's layout), the same rotation as helpers.models.llama.apply_rope":
        "隣どうしのペアを回転させます（RoFormer のレイアウト）。回転そのものは helpers.models.llama.apply_rope "
        "と同じです",
    "notebook 05's count, with key/value heads: what does one layer keep for one token of one sequence?":
        "ノートブック 05 の数え方に、キー/バリューのヘッドを加えます。1 つの層は、1 つの系列の 1 "
        "トークンにつき何を保持するでしょうか？",
    "{}: count the keys AND the values (a factor 2)": "{}: キーとバリューの両方を数えてください（2 倍）",
    "{}: the cache keeps only the n_kv_head shared heads, not every query head":
        "{}: キャッシュが保持するのは共有される n_kv_head 個のヘッドだけで、クエリのヘッドすべてではありません",
    "{}: count keys and values for every layer, key/value head, channel of a head, token and sequence, then the "
    "bytes of each":
        "{}: すべての層、キー/バリューのヘッド、ヘッドのチャネル、トークン、系列についてキーとバリューを数え、"
        "それぞれのバイト数を掛けてください",
    "your count matches the bytes in real GQA caches": "あなたの数は実際の GQA キャッシュのバイト数と一致します",
    "x of shape {}, eps={}": "形状 {} の x、eps={}",
    "x of shape {}, base {}": "形状 {} の x、base {}",
    "x of shape ({}, {})": "形状 ({}, {}) の x",
    "n_layer={}, n_kv_head={}, head_dim={}, seq_len={}, batch_size={}, 4 bytes: got {}, the cache holds {}":
        "n_layer={}, n_kv_head={}, head_dim={}, seq_len={}, batch_size={}, 4 バイト: 結果は {}、"
        "キャッシュの実際の大きさは {}",
    "{} query heads, {} key/value heads, T={}": "クエリのヘッド {} 個、キー/バリューのヘッド {} 個、T={}",
    "{} query heads, 1 key/value head, T={}": "クエリのヘッド {} 個、キー/バリューのヘッド 1 個、T={}",
    # checks/pretraining.py
    "picture a (vocab_size, vocab_size) table, one row per current id and one column per next id: which pairs of "
    "train_ids fill it?":
        "(vocab_size, vocab_size) の表を思い浮かべてください。行が現在の id、列が次の id です。train_ids "
        "のどのペアがこの表を埋めるでしょうか？",
    "{}: a pair never seen in train gets probability 0: add 1 to every count first":
        "{}: train に一度も現れないペアは確率 0 になります。まずすべての数に 1 を足してください",
    "{}: that is in bits; use the natural log, as cross_entropy does":
        "{}: それはビット単位です。cross_entropy と同じく自然対数を使ってください",
    "{}: count the pairs of train_ids only; val is what the table is tested on":
        "{}: 数えるペアは train_ids のものだけです。val は表を試すためのデータです",
    "{}: that is the loss on train; average over the pairs of val_ids":
        "{}: それは train での損失です。val_ids のペアについて平均してください",
    "{}, expected {}: normalise each row (the current character) so that the next character's probabilities sum to "
    "1, and average over all len(val) - 1 pairs":
        "{}。正しくは {} です。各行（現在の文字）を正規化して次の文字の確率の和を 1 にし、len(val) - 1 "
        "個のペアすべてについて平均してください",
    "your bigram loss matches, unseen pairs included": "あなたのバイグラムの損失は、未出現のペアも含めて一致します",
    "the schedule has two parts split at step warmup; write the warm-up part first and check its values at step 0 "
    "and at step warmup − 1":
        "スケジュールは step warmup を境に 2 つの部分に分かれます。まずウォームアップの部分を書き、step 0 と step "
        "warmup − 1 での値を確かめてください",
    "{}: a step at rate 0 is wasted; warm up with (step + 1) / warmup":
        "{}: 学習率 0 のステップは無駄になります。(step + 1) / warmup でウォームアップしてください",
    "{}: warm up linearly, from lr / warmup at step 0 to lr at step warmup − 1":
        "{}: step 0 の lr / warmup から step warmup − 1 の lr まで、線形にウォームアップしてください",
    "{}: the warm-up is one step too long; it reaches lr at step warmup − 1, then the cosine starts":
        "{}: ウォームアップが 1 ステップ長すぎます。step warmup − 1 で lr に達し、そこからコサインが始まります",
    "{}: after the last step stay at min_lr (cap progress at 1)":
        "{}: 最後のステップの後は min_lr のままにしてください（progress の上限を 1 にします）",
    "{}: the cosine ends at min_lr, not at 0: it runs between lr and min_lr":
        "{}: コサインは 0 ではなく min_lr で終わります。lr と min_lr の間を動きます",
    "{}: the decay starts after the warm-up: progress = (step − warmup) / (steps − warmup)":
        "{}: 減衰はウォームアップの後に始まります: progress = (step − warmup) / (steps − warmup)",
    "{}: after the warm-up, check progress (0 at step warmup, 1 at the last step) and the cosine's two ends (lr at "
    "progress 0, min_lr at 1)":
        "{}: ウォームアップの後について、progress（step warmup で 0、最後のステップで 1）と、"
        "コサインの両端（progress 0 で lr、1 で min_lr）を確かめてください",
    "warm-up + cosine matches helpers.training.loop.warmup_cosine, ends included":
        "ウォームアップ + コサインは、両端も含めて helpers.training.loop.warmup_cosine と一致します",
    "follow the six parts listed above, in their order; the model gives back the logits and the loss together":
        "上に挙げた 6 つの部分を順番どおりに書きましょう。モデルはロジットと損失を一緒に返します",
    "{} the weights did not change: call optimizer.step() after loss.backward(), and zero the gradients before "
    "backward (zeroing them between backward and step throws them away)":
        "{}、重みが変わっていません。loss.backward() の後で optimizer.step() を呼び、"
        "勾配のゼロクリアは誤差逆伝播の前に行ってください（誤差逆伝播とステップの間でゼロにすると勾配が捨てられます）",
    "{} the optimizer still used the rate it was built with: set group['lr'] = lr in every optimizer.param_groups "
    "before the step":
        "{}、オプティマイザが作られたときの学習率のままです。ステップの前に、optimizer.param_groups のすべてで "
        "group['lr'] = lr と設定してください",
    "{} the gradients were not clipped: clip their global norm to grad_clip after backward, on the fresh gradients, "
    "and before the optimizer's step":
        "{}、勾配がクリップされていません。誤差逆伝播の後、新しい勾配に対して、オプティマイザのステップの前に、"
        "大域ノルムを grad_clip にクリップしてください",
    "{} the last step's gradients were added to the new ones: zero the gradients before backward":
        "{}、前のステップの勾配が新しい勾配に足されています。誤差逆伝播の前に勾配をゼロにしてください",
    "{} the weights differ from one correct step: check the six parts and their order against the list above":
        "{}、重みが正しい 1 ステップの結果と異なります。6 つの部分とその順番を上のリストと照らし合わせてください",
    "step {} returned {}, but the batch's loss before the step was {}: return this batch's loss from the forward "
    "pass, as a float":
        "ステップ {} は {} を返しましたが、ステップ前のこのバッチの損失は {} でした。順伝播で得たこのバッチの損失を "
        "float で返してください",
    "three steps, weight for weight the same as helpers.training.loop.training_step":
        "3 ステップとも、重みの 1 つ 1 つまで helpers.training.loop.training_step と同じです",
    "three quantities: the FLOPs the whole training takes, the FLOPs per second the machine really does, and the "
    "seconds in an hour":
        "3 つの量が必要です: 学習全体にかかる FLOPs、マシンが実際に出せる毎秒の FLOPs、1 時間の秒数です",
    "{}: 2N per token is the forward pass only; training is ≈ 6N":
        "{}: トークンあたり 2N は順伝播だけです。学習では ≈ 6N です",
    "{}: that is in seconds; divide by 3600 for hours": "{}: それは秒単位です。時間にするには 3600 で割ってください",
    "{}: that is in days; give hours": "{}: それは日単位です。時間で答えてください",
    "{}: the machine achieves peak_flops · mfu, so divide by mfu (the time gets longer, not shorter)":
        "{}: マシンが実際に出せるのは peak_flops · mfu なので、mfu で割ってください（時間は短くではなく長くなります）",
    "{}: check each factor: the FLOPs per token of training, the rate the machine achieves, and the unit (hours)":
        "{}: 各因子を確かめてください。学習のトークンあたりの FLOPs、マシンが実際に出せる速度、単位（時間）です",
    "hours = 6·N·D / (peak · MFU) / 3600, from a 1.8M model to GPT-3":
        "時間 = 6·N·D / (peak · MFU) / 3600。1.8M のモデルから GPT-3 まで正しいです",
    "on a {}-token train and {}-token val split (vocab {}) you got {}":
        "{} トークンの train と {} トークンの val（語彙 {}）で、結果は {}",
    "step {} of {} (lr={}, min_lr={}, warmup={}): got {}, expected {}":
        "ステップ {}/{}（lr={}, min_lr={}, warmup={}）: 結果は {}、期待値は {}",
    "after step {}": "ステップ {} の後",
    "n_params={}, n_tokens={}, peak={}, mfu={}: got {} h, expected {} h":
        "n_params={}, n_tokens={}, peak={}, mfu={}: 結果は {} 時間、期待値は {} 時間",
    # checks/rl_from_feedback.py
    "work on one row first, the k answers to one prompt: start with the 'mean' baseline, then RLOO's mean of the "
    "other k − 1":
        "まず 1 行、つまり 1 つのプロンプトに対する k 個の回答で考えましょう。'mean' のベースラインから始め、次に "
        "RLOO の「ほかの k − 1 個の平均」です",
    "return one advantage per answer, a tensor of the rewards' shape {}, got {}":
        "回答ごとに 1 つのアドバンテージ、つまり報酬と同じ形状 {} のテンソルを返してください。返ったのは {} です",
    "that is the 'mean' baseline: RLOO leaves the answer itself out, its baseline is the mean of the OTHER k − 1":
        "それは 'mean' のベースラインです。RLOO はその回答自身を除き、ベースラインは「ほかの」k − 1 個の平均です",
    "divide the other answers' sum by their number, k − 1, not by k":
        "ほかの回答の合計を、k ではなくその個数 k − 1 で割ってください",
    "the baseline comes from the same prompt's answers, a row (dim=1), not from a column of other prompts":
        "ベースラインは、ほかのプロンプトの列からではなく、同じプロンプトの回答、つまり行（dim=1）から求めます",
    "RLOO: the baseline of answer i is the mean of the other k − 1 rewards of its row":
        "RLOO: 回答 i のベースラインは、同じ行のほかの k − 1 個の報酬の平均です",
    "the baseline is each prompt's own mean (a row's), not the whole batch's":
        "ベースラインはバッチ全体の平均ではなく、各プロンプト自身（その行）の平均です",
    "average over the k answers of a prompt (dim=1), not over prompts":
        "プロンプトをまたいでではなく、1 つのプロンプトの k 個の回答（dim=1）で平均してください",
    "baseline 'mean': each reward minus the mean of its row (GRPO)":
        "ベースライン 'mean': 各報酬からその行の平均を引きます（GRPO）",
    "baseline 'none' is plain REINFORCE: the advantage is the reward itself":
        "ベースライン 'none' はただの REINFORCE です。アドバンテージは報酬そのものです",
    "NaN: the second prompt's rewards are all equal, so their std is 0; divide by (std + 1e-6)":
        "NaN です。2 つ目のプロンプトの報酬はすべて等しいので、標準偏差が 0 になります。(std + 1e-6) で割ってください",
    "use torch's default std (Bessel's correction, dividing by k − 1), one per row":
        "torch の既定の std（ベッセル補正、k − 1 で割る）を、行ごとに 1 つ使ってください",
    "divide by each prompt's own std (a row's), not by the std of the whole batch":
        "バッチ全体の std ではなく、各プロンプト自身（その行）の std で割ってください",
    "normalize=True divides the advantages by the group's std (+ 1e-6)":
        "normalize=True では、アドバンテージをグループの std (+ 1e-6) で割ります",
    "baseline {} with normalize=True: the advantages above, divided by their row's std + 1e-6":
        "ベースライン {} で normalize=True: 上のアドバンテージを、その行の std + 1e-6 で割ったものです",
    "group advantages: RLOO leaves each answer out of its baseline, GRPO's mean and std are per prompt":
        "グループのアドバンテージ: RLOO は各回答を自分のベースラインから除き、GRPO "
        "の平均と標準偏差はプロンプトごとです",
    "start with the ratio r of each token (from its two log-probabilities) and the advantage of its answer, both (B, "
    "T)":
        "まず各トークンの比 r（2 つの対数確率から）と、その回答のアドバンテージを求めましょう。どちらも (B, T) です",
    "return two things, (loss, clip_fraction), got {}":
        "(loss, clip_fraction) の 2 つを返してください。返ったのは {} です",
    "the loss is one number (a scalar tensor), got {}": "損失は 1 つの数（スカラーのテンソル）です。返ったのは {} です",
    "the ratio of probabilities is exp(logp − old_logp), not a ratio of log-probabilities":
        "確率の比は exp(logp − old_logp) で、対数確率どうしの比ではありません",
    "the ratio is upside down: r = π/π_old = exp(logp − old_logp)":
        "比が逆さまです: r = π/π_old = exp(logp − old_logp)",
    "the sign: PPO maximises the objective, so the loss to minimise is minus it":
        "符号: PPO は目的関数を最大化するので、最小化する損失はそのマイナスです",
    "take the min of the two terms (the pessimistic one), not the max":
        "2 つの項の max ではなく min（悲観的なほう）をとってください",
    "no clipping: the objective is min(r·A, clamp(r, 1 − ε, 1 + ε)·A)":
        "クリッピングがありません。目的関数は min(r·A, clamp(r, 1 − ε, 1 + ε)·A) です",
    "the clipped term alone is not PPO's objective: take the min of it and the unclipped r·A":
        "クリップした項だけでは PPO の目的関数になりません。それとクリップしない r·A の min をとってください",
    "clip the ratio r, then multiply by A: clamp(r, 1 − ε, 1 + ε)·A, not clamp(r·A, ...)":
        "比 r をクリップしてから A を掛けてください: clamp(r·A, ...) ではなく clamp(r, 1 − ε, 1 + ε)·A です",
    "average over the answer tokens only (where mask is True), not over every position":
        "すべての位置ではなく、回答のトークン（mask が True の位置）だけで平均してください",
    "one mean over all the batch's answer tokens, not a mean per answer first":
        "まず回答ごとに平均するのではなく、バッチ全体の回答トークンについて 1 回だけ平均してください",
    "take the mean over the answer tokens, not the sum": "回答のトークンについて合計ではなく平均をとってください",
    "got {}, expected {} (ε = {})": "結果は {} ですが、{} になるはずです（ε = {}）",
    "no gradient reaches logp: build the loss from logp with torch operations (no .item(), no .detach())":
        "logp に勾配が届きません。損失は torch の演算で logp から組み立ててください（.item() や .detach() "
        "は使わない）",
    "the loss has the right value but not the right gradient: keep logp − old_logp differentiable in logp":
        "損失の値は正しいのですが、勾配が違います。logp − old_logp を logp について微分可能なままにしてください",
    "count a token as clipped only where the clipped term is the smaller one (its gradient is 0); |r − 1| > ε also "
    "counts tokens whose ratio moved the way A disfavours, which the clip lets through":
        "トークンをクリップされたと数えるのは、クリップした項のほうが小さい（勾配が 0 になる）ところだけです。|r − "
        "1| > ε では、比が A の望まない向きに動いたトークンまで数えてしまいますが、クリップはそれらを通します",
    "the clip fraction is a share of the answer tokens (where mask is True), not of every position":
        "クリップ率は、すべての位置ではなく回答のトークン（mask が True の位置）に占める割合です",
    "clip fraction {}, expected {}: the share of answer tokens where clamp(r)·A < r·A":
        "クリップ率は {} ですが、{} になるはずです。clamp(r)·A < r·A となる回答トークンの割合です",
    "PPO's clipped loss and clip fraction are right for ε = 0.2 and 0.1, gradients included":
        "PPO のクリップ付き損失とクリップ率は、ε = 0.2 と 0.1 で、勾配も含めて正しいです",
    "compute log r from the two log-probabilities first (which one is on top of the ratio?), then the paragraph's k3":
        "まず 2 つの対数確率から log r を計算しましょう（比の分子はどちらでしょうか？）。それから段落の k3 です",
    "return one estimate per token, the shape of logp {}, got {}":
        "トークンごとに 1 つの推定値、つまり logp と同じ形状 {} を返してください。返ったのは {} です",
    "that is k1, logp − ref_logp: unbiased, but often negative; k3 = (r − 1) − log r":
        "それは k1 = logp − ref_logp です。不偏ですが、しばしば負になります。k3 = (r − 1) − log r です",
    "that is k2, ½·(log r)²: never negative but biased; k3 = (r − 1) − log r":
        "それは k2 = ½·(log r)² です。負になりませんが偏りがあります。k3 = (r − 1) − log r です",
    "the ratio is upside down: log r = ref_logp − logp, the reference's log-prob over the policy's":
        "比が逆さまです: log r = ref_logp − logp、つまり参照モデルの対数確率を方策の対数確率で割った比です",
    "the −1 is missing: k3 = (r − 1) − log r, which is 0 where π = π_ref":
        "−1 が抜けています: k3 = (r − 1) − log r で、π = π_ref のところでは 0 です",
    "the − log r is missing: k3 = (r − 1) − log r, never negative":
        "− log r が抜けています: k3 = (r − 1) − log r で、決して負になりません",
    "subtract log r: k3 = (r − 1) − log r": "log r を引いてください: k3 = (r − 1) − log r",
    "r = π_ref/π is a ratio of probabilities: exp(ref_logp − logp), not ref_logp / logp":
        "r = π_ref/π は確率の比です: ref_logp / logp ではなく exp(ref_logp − logp) です",
    "k3 is never negative: (r − 1) − log r ≥ 0 for every r > 0":
        "k3 は決して負になりません: すべての r > 0 で (r − 1) − log r ≥ 0 です",
    "not k3: check log r (the reference's log-prob minus the policy's) and each term of the paragraph's k3":
        "k3 になっていません。log r（参照モデルの対数確率から方策の対数確率を引いたもの）と、段落の k3 "
        "の各項を確かめてください",
    "Schulman's k3: (r − 1) − log r per token, never negative, 0 where the policy is the reference":
        "Schulman の k3: トークンごとに (r − 1) − log r。決して負にならず、方策が参照モデルと同じところでは 0 です",
    # checks/scaling_laws.py
    "take logs of both sides of loss = (n_c / n)^alpha: which straight line in (log n, log loss) do you get?":
        "loss = (n_c / n)^alpha の両辺の対数をとってみましょう。(log n, log loss) ではどんな直線になるでしょうか？",
    "return two numbers (alpha, n_c), got {}": "2 つの数 (alpha, n_c) を返してください。返ったのは {} です",
    "{}: got alpha={}, n_c={}: take logs of both n and loss":
        "{}: 結果は alpha={}, n_c={} です。n と loss の両方の対数をとってください",
    "{}: got alpha={}: alpha is MINUS the slope": "{}: 結果は alpha={} です。alpha は傾きの「マイナス」です",
    "{}: got alpha={}, want {}: fit the least-squares line to (log n, log loss), in log space for both (a fit to the "
    "raw losses weighs the points differently); alpha = -slope":
        "{}: 結果は alpha={} ですが、{} になるはずです。(log n, log loss) に最小二乗の直線を当てはめてください。"
        "両方とも対数空間でです（生の損失に当てはめると点の重みが変わります）。alpha = -slope です",
    "{}: got n_c = exp(intercept), but the intercept is alpha·log(n_c), not log(n_c)":
        "{}: n_c = exp(intercept) になっていますが、切片は log(n_c) ではなく alpha·log(n_c) です",
    "{}: got n_c={}, want {}: solve intercept = alpha·log(n_c) for n_c, with the same log base throughout":
        "{}: 結果は n_c={} ですが、{} になるはずです。intercept = alpha·log(n_c) を n_c について解いてください。"
        "対数の底は最後まで同じものを使います",
    "your log-log line fit recovers alpha and N_c, with and without noise":
        "あなたの両対数での直線の当てはめは、ノイズがあってもなくても alpha と N_c を復元します",
    "three steps: how many tokens the run sees, what they cost in FLOPs (notebook 02's rule), and how many FLOPs one "
    "PF-day is":
        "3 つのステップです: 実行で見るトークン数、それにかかる FLOPs（ノートブック 02 の規則）、1 PF-day が何 FLOPs "
        "かです",
    "{}: 2·N·D is the forward pass only; backward ≈ 2× forward, so 6·N·D":
        "{}: 2·N·D は順伝播だけです。誤差逆伝播は順伝播の ≈ 2 倍なので 6·N·D です",
    "{}: every step trains on batch_size × block_size tokens, not batch_size":
        "{}: 各ステップで学習するトークンは batch_size ではなく batch_size × block_size 個です",
    "{}: that is in FLOPs; divide by 8.64e19 FLOPs per PF-day":
        "{}: それは FLOPs 単位です。1 PF-day あたり 8.64e19 FLOPs で割ってください",
    "{}: that is in petaflop/s-seconds; a PF-day is 86,400 of them":
        "{}: それはペタフロップ/秒・秒の単位です。1 PF-day はその 86,400 倍です",
    "{}: that is in petaflop/s-hours; a day has 24 hours":
        "{}: それはペタフロップ/秒・時の単位です。1 日は 24 時間です",
    "{}: check the tokens per step, the 6 FLOPs per parameter per token, and the FLOPs in a PF-day (10^15 FLOP/s for "
    "one day)":
        "{}: ステップあたりのトークン数、パラメータ 1 つ・トークン 1 つあたり 6 FLOPs、1 PF-day の FLOPs（10^15 "
        "FLOP/s で 1 日）を確かめてください",
    "C = 6·N·D in PF-days, from a laptop run to GPT-3's 3.6 thousand":
        "C = 6·N·D を PF-days で。ノート PC での実行から GPT-3 の 3.6 千まで正しいです",
    "N={}, {} steps of {} x {} tokens: got {}, want {} PF-days":
        "N={}, {} ステップ × {} x {} トークン: 結果は {}、期待値は {} PF-days",
    "data from alpha={}, n_c={} with noise": "alpha={}, n_c={} のデータ（ノイズあり）",
    "data from alpha={}, n_c={}": "alpha={}, n_c={} のデータ",
    # checks/tokenization.py
    "start from the toy loop of section 2, which already counts, picks and merges; what changes when the text is cut "
    "into chunks that repeat?":
        "第 2 節のおもちゃのループから始めましょう。それはすでに数え、選び、マージしています。"
        "テキストを繰り返し現れるチャンクに切ると、何が変わるでしょうか？",
    "{} returned a {}: return a dict {(left id, right id): new id}":
        "{} が {} を返しました。dict {(left id, right id): new id} を返してください",
    "{}: the keys should be pairs of ids (ints), such as (32, 116), got {}":
        "{}: キーは (32, 116) のような id（int）のペアのはずですが、{} でした",
    "{}: the new ids should be 256, 257, ... in the order the merges were learned, got {}":
        "{}: 新しい id は、マージを学習した順に 256, 257, ... となるはずですが、{} でした",
    "{}: learned {} merges, expected {}: stop after n_merges (or earlier, when no pair is left)":
        "{}: 学習したマージは {} 個ですが、{} 個のはずです。n_merges 個で（ペアがなくなったらそれより前で）"
        "止めてください",
    "{}: merge {} should make {}, yours makes {}: {}":
        "{}: マージ {} は {} を作るはずですが、あなたの実装では {} になります: {}",
    "train_bpe learns the course's merges: chunks, counts, ties and overlaps":
        "train_bpe はコースと同じマージを学習します。チャンク、出現回数、同数の扱い、重なりも正しいです",
    "look at the UTF-8 bytes of a short word such as 'banana' first: which pair of neighbours comes back most often?":
        "まず 'banana' のような短い単語の UTF-8 バイトを見てみましょう。"
        "どの隣り合うペアがいちばん多く現れるでしょうか？",
    "most_frequent_pair({}) returned {}: return 2 bytes such as b'an' (bytes([a, b]) builds them)":
        "most_frequent_pair({}) が {} を返しました。b'an' のような 2 バイトを返してください（bytes([a, b]) "
        "で作れます）",
    "most_frequent_pair({}) returned {}: {}": "most_frequent_pair({}) が {} を返しました: {}",
    "most_frequent_pair finds the top byte pair, with ties and Japanese text":
        "most_frequent_pair は、同数の場合や日本語のテキストも含めて、最頻のバイトペアを見つけます",
    "the paragraph above says which pair goes first; what in merges tells you when training learned a pair?":
        "どのペアを先にマージするかは上の段落に書いてあります。学習がいつそのペアを学んだかは、merges "
        "の何からわかるでしょうか？",
    "{}: return the chunk's ids, a list of ints such as [97, 256]":
        "{}: チャンクの id を、[97, 256] のような int のリストで返してください",
    "{}, expected {}: {}": "{}。正しくは {} です: {}",
    "{}, expected {}: start from the chunk's UTF-8 bytes and repeat: of the neighbouring pairs that have a merge, "
    "merge the one learned earliest":
        "{}。正しくは {} です。チャンクの UTF-8 バイトから始めて、"
        "マージのある隣り合うペアのうち最も早く学習したものをマージする、を繰り返してください",
    "encode_chunk merges the pair learned earliest first, until no learned pair is left":
        "encode_chunk は、学習したペアがなくなるまで、最も早く学習したペアから順にマージします",
    "what goes after each document in the stream (the last one too): the text '<|endoftext|>' or its id?":
        "ストリームの中で各文書（最後の文書も）の後に来るのは何でしょうか。テキスト '<|endoftext|>' でしょうか、"
        "それともその id でしょうか？",
    "{}: return one flat list of ints": "{}: 1 つの平らな int のリストを返してください",
    "{}: append the id eot_id itself; the text '<|endoftext|>' is encoded as ordinary bytes here":
        "{}: id eot_id そのものを追加してください。ここではテキスト '<|endoftext|>' "
        "は普通のバイトとして符号化されます",
    "{}: put eot_id after every document (the last one too): {} of them, you have {}":
        "{}: すべての文書の後（最後の文書も）に eot_id を置いてください。必要なのは {} 個ですが、あなたの結果には {} "
        "個あります",
    "{}: expected each document's ids, in order, each followed by {}":
        "{}: 各文書の id を順番に並べ、それぞれの後に {} を置いたものになるはずです",
    "pack_documents separates documents with one <|endoftext|> id each":
        "pack_documents は各文書を 1 つの <|endoftext|> id で区切ります",
    "three pairs tie at count 1: break ties with the smallest ids, as top_pair does ((32, 97) here)":
        "3 つのペアが出現回数 1 で並んでいます。top_pair と同じく、id が最も小さいペアを選んでください（ここでは "
        "(32, 97)）",
    "count pairs inside the chunks of re.findall(PATTERN, text) only: '.' and ' ' are different chunks, so (46, 32) "
    "('. ') must never be merged":
        "ペアは re.findall(PATTERN, text) のチャンクの中だけで数えてください。'.' と ' ' は別のチャンクなので、(46, "
        "32)（'. '）は決してマージされません",
    "a chunk that occurs n times counts n times: add n for each of its pairs":
        "n 回現れるチャンクは n 回と数えます。そのチャンクの各ペアに n を足してください",
    "count the pairs again after each merge: merging (97, 98) creates the pair (32, 256) (' ab') and removes (32, 97)":
        "マージのたびにペアを数え直してください。(97, 98) をマージするとペア (32, 256)（' ab'）ができ、(32, 97) "
        "は消えます",
    "merge each occurrence left to right without overlaps, as merge_pair does: the ids of 'aaa' become [256, 97], "
    "not [256, 256]; and count overlapping pairs: 'aaa' holds (a, a) twice":
        "merge_pair と同じく、各出現を左から右へ重ならないようにマージしてください。'aaa' の id は [256, 256] "
        "ではなく [256, 97] になります。また、重なるペアも数えてください。'aaa' には (a, a) が 2 回あります",
    "compare your loop with the toy loop of section 2, run on each chunk with its count":
        "あなたのループを第 2 節のおもちゃのループと比べてください。各チャンクについて、"
        "その出現回数とともに実行します",
    "{} is tied with another pair at {}: break ties with the smaller pair (compare the bytes)":
        "{} は別のペアと {} 回で並んでいます。同数のときは小さいほうのペアを選んでください（バイトを比べます）",
    "{} occurs {} times among the bytes, the top pair {}: count UTF-8 bytes, not characters":
        "{} はバイトの中で {} 回現れますが、最頻のペアは {} 回です。文字ではなく UTF-8 バイトを数えてください",
    "{} occurs {} times, but some pair occurs {} times": "{} は {} 回現れますが、{} 回現れるペアがあります",
    "among all neighbouring pairs, merge the one learned earliest (the smallest new id) first, wherever it sits, not "
    "the leftmost pair that has a merge":
        "隣り合うすべてのペアのうち、最も早く学習したもの（新しい id が最小のもの）を、"
        "どこにあっても先にマージしてください。マージのある最も左のペアではありません",
    "the order comes from training, not from how often a pair occurs in this chunk: merge the pair learned earliest "
    "first, and go on while any neighbouring pair has a merge":
        "順番は学習で決まり、このチャンクの中でペアが何回現れるかでは決まりません。"
        "最も早く学習したペアを先にマージし、マージのある隣り合うペアが残っている間は続けてください",
    "merge the pair learned earliest (the smallest new id) first, not the latest: later merges build on earlier ones":
        "最も遅くではなく、最も早く学習したペア（新しい id が最小のもの）を先にマージしてください。"
        "後のマージは前のマージの上に成り立っています",
    "keep merging until no neighbouring pair is in merges: a merge can create a pair that was learned later":
        "隣り合うペアが merges に 1 つもなくなるまでマージを続けてください。マージによって、"
        "後で学習されたペアができることがあります",
    "encode_chunk({}, {}) returned {}": "encode_chunk({}, {}) が {} を返しました",
    "pack_documents({}, encode, {}) returned {}": "pack_documents({}, encode, {}) が {} を返しました",
    "the merges learned from a sonnet line": "ソネットの 1 行から学習したマージ",
    # reference.py: the "is this run normal?" verdict, its causes, the reference line and the plot
    "is this run normal?": "この実行は正常ですか？",
    "no losses recorded: did the run train at all?": "損失が記録されていません。そもそも学習は行われたでしょうか？",
    "off: the loss is not a number from step {} on. Likely: {}":
        "異常: ステップ {} 以降、損失が数値ではありません。考えられる原因: {}",
    "off: the loss fell to {}, then climbed to {}. Likely: {}":
        "異常: 損失は {} まで下がった後、{} まで上がりました。考えられる原因: {}",
    "off: the loss went from {} to only {}. Likely: {}":
        "異常: 損失は {} から {} にしか下がっていません。考えられる原因: {}",
    "no reference stored for this run: only checked for NaN, divergence and a flat curve (all fine)":
        "この実行の基準は保存されていません。NaN、発散、平坦な曲線だけを確かめました（すべて問題ありません）",
    "your settings ({}) differ from the reference's ({}), so its band does not apply; checked for NaN, divergence "
    "and a flat curve instead: all fine":
        "あなたの設定（{}）は基準の設定（{}）と異なるため、基準の範囲は当てはまりません。代わりに NaN、発散、"
        "平坦な曲線を確かめました: すべて問題ありません",
    "your {} vs the reference's {} ± {} (±{}: a short run's losses scatter), means over the last 20% of steps":
        "あなたの {} と基準の {} ± {}（±{}: 短い実行では損失がばらつきます）、最後の 20% のステップでの平均",
    "your {} vs the reference's {} ± {}, means over the last 20% of steps":
        "あなたの {} と基準の {} ± {}、最後の 20% のステップでの平均",
    "off: above the expected band ({}). Likely: {}": "異常: 期待される範囲より上です（{}）。考えられる原因: {}",
    "better than the reference ({}): nothing to worry about": "基準より良い結果です（{}）。心配はいりません",
    "within the expected band ({})": "期待される範囲内です（{}）",
    "the loss became NaN or infinite: a learning rate far too high, float16 without a gradient scaler, or bad input "
    "(check COURSE_DTYPE, the learning rate, the data)":
        "損失が NaN か無限大になりました。学習率が高すぎる、勾配スケーラーなしの float16、"
        "入力の不良などが考えられます（COURSE_DTYPE、学習率、データを確かめてください）",
    "the loss climbed back up: the learning rate is too high for this model and batch (lower it, keep the warm-up, "
    "keep gradient clipping on)":
        "損失がふたたび上がりました。このモデルとバッチに対して学習率が高すぎます（学習率を下げ、"
        "ウォームアップと勾配クリッピングはそのまま使ってください）",
    "the loss barely moved: the learning rate is too low (or 0), no parameter trains (requires_grad / LoRA targets), "
    "or the run is far too short":
        "損失がほとんど動きませんでした。学習率が低すぎる（または 0）、学習するパラメータがない（requires_grad や "
        "LoRA の対象）、実行が短すぎる、などが考えられます",
    "the run ended well above the reference: fewer steps or tokens than the reference, a changed learning rate or "
    "schedule, or another precision/device (see the settings above)":
        "基準よりかなり高い損失で実行が終わりました。基準よりステップ数やトークン数が少ない、"
        "学習率やスケジュールを変えた、精度やデバイスが違う（上の設定を見てください）などが考えられます",
    "(reference: {})": "（基準: {}）",
    "your run": "あなたの実行",
    "reference and the verdict's band": "基準の実行と判定の範囲",
    "step": "ステップ",
    "training loss": "学習時の損失",
    "training loss (nats per token)": "学習時の損失（トークンあたりの nat）",
    "1 − mean verifiable reward": "1 − 検証可能な報酬の平均",
    "normal": "正常",
    "better": "基準より良好",
    "off": "異常",
    "unchecked": "未判定",
    "04_pretraining": "事前学習",
    "06_scaling_laws": "スケーリング則",
    "08_finetune_poetry": "詩のファインチューニング",
    "09_finetune_titles": "タイトルのファインチューニング",
    "11_instruction_tuning": "指示チューニング",
    "12_rl_from_feedback": "フィードバックからの強化学習",
    # api/playground.py: the playground's controls, status line and notes
    "temperature": "温度",
    "top p": "top p（核サンプリング）",
    "top k (0: off)": "top k（0 でオフ）",
    "maximum length": "最大長",
    "frequency penalty": "頻度ペナルティ",
    "presence penalty": "存在ペナルティ",
    "stop sequences (comma-separated, \\n = line break)": "停止シーケンス（カンマ区切り、\\n = 改行）",
    "start text": "開始テキスト",
    "restart text": "再開テキスト",
    "show probabilities": "確率を表示",
    "Generate": "生成",
    "generating…": "生成中…",
    "wrote {} characters ({} tokens) in {} s": "{} 文字（{} トークン）を {} 秒で書きました",
    "wrote {} characters in {} s": "{} 文字を {} 秒で書きました",
    "{} is off: {}": "「{}」は使えません: {}",
    "the OpenAI API has no top-k setting (use top-p)":
        "OpenAI API には top-k の設定がありません（top-p を使ってください）",
    "this backend returns no log-probabilities": "このバックエンドは対数確率を返しません",
    "transformers serve ignores presence_penalty and applies frequency_penalty as a repetition penalty of 1 + value, "
    "not OpenAI's subtraction":
        "transformers serve は presence_penalty を無視し、frequency_penalty を OpenAI のような引き算ではなく 1 + 値 "
        "の繰り返しペナルティとして適用します",
    "no probabilities: {}": "確率なし: {}",
    "none returned": "何も返されませんでした",
    "course model": "コースのモデル",
    "the character model of this notebook": "このノートブックの文字モデル",
    "p = {}; most likely: {}": "p = {}、最も確率が高いもの: {}",
    "token": "トークン",
    "most likely at its place": "その位置で最も確率が高いもの",
    "{}={} is out of range: {}": "{}={} は範囲外です: {}",
    "use 0 (greedy) to 2": "0（貪欲法）から 2 の値にしてください",
    "use a value in (0, 1]; 1 turns it off": "(0, 1] の値にしてください。1 でオフになります",
    "use 0 (off) or a count of tokens": "0（オフ）かトークン数にしてください",
    "ask for at least 1 token": "少なくとも 1 トークンを指定してください",
    "use -2 to 2": "-2 から 2 の値にしてください",
    "top_k={}: {}; set it to 0": "top_k={}: {}。0 にしてください",
    "the prompt encodes to no tokens: type some text the model knows":
        "プロンプトがトークンになりません。モデルが知っているテキストを入力してください",
    # notebook.py: the settings line of quick mode
    "Quick mode ({}=1): {}": "クイックモード（{}=1）: {}",
    # tools/run_course.py: the site's index page (course.py run --html --lang ja)
    "GPT from scratch: the course, executed": "GPT をゼロから作る：コースの実行結果",
    "Generated by {} on {}.": "{1} に {0} で生成しました。",
    "Each notebook's page shows it as executed on this machine; the table gives its run time and key figures, "
    "with the committed full-mode values in brackets.":
        "各ノートブックのページは、このマシンで実行した結果です。表には実行時間と主要な数値を示し、"
        "括弧内にコミット済みのフルモードの値を添えています。",
    "notebook": "ノートブック",
    "mode": "モード",
    "device": "デバイス",
    "precision": "精度",
    "time (s)": "時間（秒）",
    "key figures": "主要な数値",
    "no key figures": "主要な数値なし",
}
