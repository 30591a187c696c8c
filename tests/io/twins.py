"""PyTorch twins of deltagrad's models: the same modules under the same state_dict keys, so
one state_dict serves both (test-only; torch is the oracle)."""
import torch
from torch import nn


def lenet5():
    """dg.models.LeNet5(input_size=28, padding=2)."""
    m = nn.Module()
    m.features = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                               nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2))
    m.classifier = nn.Sequential(nn.Flatten(), nn.Linear(400, 120), nn.ReLU(),
                                 nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
    m.forward = lambda x: m.classifier(m.features(x))
    return m


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None if stride == 1 and cin == cout else nn.Sequential(
            nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + identity)


class ResNetCifar(nn.Module):
    """dg.models.resnet_cifar(depth, width=width) (torchvision's attribute names)."""

    def __init__(self, depth, width, num_classes=10, in_channels=3):
        super().__init__()
        n = (depth - 2) // 6
        self.conv1 = nn.Conv2d(in_channels, width, 3, 1, 1, bias=False)
        self.maxpool = nn.Identity()
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        cin = width
        for i, w in enumerate((width, 2 * width, 4 * width)):
            blocks = []
            for j in range(n):
                blocks.append(BasicBlock(cin, w, 2 if (j == 0 and i > 0) else 1))
                cin = w
            setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(self.avgpool(x).flatten(1))


class CharRNN(nn.Module):
    """dg.models.CharRNN."""

    def __init__(self, vocab, emb, hidden, num_layers, cell):
        super().__init__()
        self.embedding = nn.Embedding(vocab, emb)
        self.rnn = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[cell](
            emb, hidden, num_layers=num_layers, batch_first=True)
        self.drop = nn.Dropout(0.0)
        self.decoder = nn.Linear(hidden, vocab)

    def forward(self, x):
        return self.decoder(self.drop(self.rnn(self.embedding(x))[0]))


class Positions(nn.Module):
    def __init__(self, n, d):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(n, d))


def _encoder(d, heads, ff, depth):
    layer = nn.TransformerEncoderLayer(d, heads, ff, dropout=0.0, activation="gelu",
                                       batch_first=True, norm_first=True)
    return nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)


class VisionTransformer(nn.Module):
    """dg.models.VisionTransformer(image_size, patch_size, in_channels, num_classes, d_model,
    depth, nhead, mlp_dim)."""

    def __init__(self, image_size, patch_size, in_channels, num_classes, d_model, depth, nhead,
                 mlp_dim):
        super().__init__()
        self.P, self.C, self.H = patch_size, in_channels, image_size
        self.N = (image_size // patch_size) ** 2
        self.cls_token = nn.Parameter(torch.zeros(1, 1, d_model))
        self.patch_embed = nn.Linear(in_channels * patch_size ** 2, d_model)
        self.pos_embed = Positions(self.N + 1, d_model)
        self.encoder = _encoder(d_model, nhead, mlp_dim, depth)
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, num_classes)

    def forward(self, x):
        B, P, C, H = x.shape[0], self.P, self.C, self.H
        x = x.reshape(B, C, H // P, P, H // P, P).permute(0, 2, 4, 1, 3, 5)
        p = self.patch_embed(x.reshape(B, self.N, C * P * P))
        h = torch.cat([self.cls_token.expand(B, 1, p.shape[2]), p], 1) + self.pos_embed.weight
        return self.head(self.norm(self.encoder(h)[:, 0]))


class GPT(nn.Module):
    """dg.models.GPTLanguageModel (tied embedding and output weights)."""

    def __init__(self, vocab, block_size, n_layer, n_head, n_embd):
        super().__init__()
        self.tok_emb = nn.Embedding(vocab, n_embd)
        self.pos_emb = Positions(block_size, n_embd)
        self.blocks = _encoder(n_embd, n_head, 4 * n_embd, n_layer)
        self.ln_f = nn.LayerNorm(n_embd)
        self.head = nn.Linear(n_embd, vocab, bias=False)
        self.head.weight = self.tok_emb.weight

    def forward(self, idx):
        T = idx.shape[1]
        h = self.tok_emb(idx) + self.pos_emb.weight[:T]
        mask = nn.Transformer.generate_square_subsequent_mask(T)
        return self.head(self.ln_f(self.blocks(h, mask=mask, is_causal=True)))
