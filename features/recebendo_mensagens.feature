# language: pt
Funcionalidade: Recebendo mensagens dos pacientes
  Toda mensagem que chega pelo WhatsApp da clínica entra na conversa do paciente.
  O Porfin reconhece o paciente pelo número, mesmo quando o WhatsApp escreve o número
  sem o nono dígito, e guarda cada mensagem uma única vez.

  Contexto:
    Dado que a clínica tem o canal simulador

  Cenário: A primeira mensagem de uma paciente cria o cadastro e uma conversa com a IA
    Quando a paciente Maria (+55 11 98765-4321) escreve "Olá, quero marcar uma limpeza"
    Então existe 1 cliente
    E a cliente Maria tem o telefone +55 11 98765-4321
    E existe 1 conversa
    E a conversa de Maria está aberta
    E a conversa de Maria é atendida pela IA
    E a conversa de Maria tem 1 mensagem não lida
    E a última mensagem da conversa de Maria é "Olá, quero marcar uma limpeza"

  Cenário: A mesma mensagem entregue duas vezes é guardada uma vez só
    Quando a paciente Maria (+55 11 98765-4321) escreve "Oi, tudo bem?" com o id "wamid.A1"
    E o WhatsApp entrega de novo a mensagem "wamid.A1"
    Então a segunda entrega é reconhecida como repetida
    E a conversa de Maria tem 1 mensagem
    E a conversa de Maria tem 1 mensagem não lida

  Cenário: O mesmo número com e sem o nono dígito é a mesma paciente
    Quando a paciente Maria (+55 11 98765-4321) escreve "Bom dia!"
    E a paciente Maria (551187654321) escreve "Ainda tem horário amanhã?"
    Então existe 1 cliente
    E existe 1 conversa
    E a conversa de Maria tem 2 mensagens
    E a cliente Maria tem o telefone +55 11 98765-4321

  Esquema do Cenário: Qualquer forma de escrever o número leva à mesma paciente
    Dado que a paciente Maria (+55 11 98765-4321) escreveu "Oi"
    Quando a paciente Maria (<número>) escreve "Sou eu de novo"
    Então existe 1 cliente
    E a conversa de Maria tem 2 mensagens

    Exemplos:
      | número                       |
      | 5511987654321                |
      | 551187654321                 |
      | (11) 98765-4321              |
      | (011) 8765-4321              |
      | 551187654321@s.whatsapp.net  |

  Cenário: Pacientes diferentes têm conversas diferentes
    Quando a paciente Maria (+55 11 98765-4321) escreve "Quero marcar uma limpeza"
    E o paciente João (+55 21 99876-5432) escreve "Estou com dor de dente"
    Então existem 2 clientes
    E existem 2 conversas

  Cenário: Uma mensagem numa conversa encerrada reabre a conversa
    Dado que a paciente Maria (+55 11 98765-4321) escreveu "Obrigada, até amanhã!"
    E que a recepção encerrou a conversa de Maria
    E que passaram 3 horas
    Quando a paciente Maria (+55 11 98765-4321) escreve "Esqueci de perguntar o preço"
    Então a conversa de Maria está aberta
    E a conversa de Maria tem 1 mensagem não lida
    E existe 1 conversa

  Cenário: A mensagem da paciente abre a janela de 24 horas
    Dado que são 10:00 de 25/11/2026
    Quando a paciente Maria (+55 11 98765-4321) escreve "Vocês atendem sábado?"
    Então a janela de atendimento de Maria fecha em 26/11/2026 às 10:00
    Quando passam 23 horas
    Então a janela de atendimento de Maria está aberta
    Quando passa 1 hora
    Então a janela de atendimento de Maria está fechada

  Cenário: Uma nova mensagem renova a janela de 24 horas
    Dado que são 09:30 de 25/11/2026
    E que a paciente Maria (+55 11 98765-4321) escreveu "Oi"
    E que passaram 20 horas
    Quando a paciente Maria (+55 11 98765-4321) escreve "Ainda estou esperando"
    Então a janela de atendimento de Maria fecha em 27/11/2026 às 05:30
